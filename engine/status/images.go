package status

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	units "github.com/docker/go-units"
)

// Images describes the images containers use (`compose images`).
type Images interface {
	// Name splits an image reference, as a compose file writes it, into
	// the repository and tag Docker shows ("busybox", "latest").
	Name(ref string) (repository, tag string)
	// Image describes the stored image id; an error when it is not stored.
	Image(id string) (ImageInfo, error)
}

// ImageInfo is what `compose images` shows of a stored image.
type ImageInfo struct {
	Size     int64
	Created  time.Time
	Platform ImagePlatform
}

// ImagesOptions are the flags of `compose images`.
type ImagesOptions struct {
	Services []string

	// How PrintImages shows them.
	Quiet  bool   // image IDs only
	Format string // "table" (default) or "json"
}

// ImageSummary is one line of `compose images --format json` (Compose's fields).
type ImageSummary struct {
	ID            string        `json:"ID"`
	ContainerName string        `json:"ContainerName"`
	Repository    string        `json:"Repository"`
	Tag           string        `json:"Tag"`
	Platform      ImagePlatform `json:"Platform"`
	Size          int64         `json:"Size"` // -1: the image is not stored
	LastTagTime   time.Time     `json:"LastTagTime"`

	age string // "5 minutes ago", told when listed
}

// ImagePlatform is the OCI platform of an image.
type ImagePlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

func (p ImagePlatform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ProjectImages lists the images of the project's containers (of services; all
// when empty), one per container, like `docker compose images`.
func (r *Reporter) ProjectImages(ctx context.Context, project string, opts ImagesOptions) ([]ImageSummary, error) {
	recs, err := r.list(project, opts.Services)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := make([]ImageSummary, 0, len(recs))
	for _, rec := range recs {
		repo, tag := r.Images.Name(rec.Image)
		s := ImageSummary{ID: rec.ImageID, ContainerName: rec.Name, Repository: repo, Tag: tag, Size: -1}
		if info, err := r.Images.Image(rec.ImageID); err == nil {
			s.Size, s.LastTagTime, s.Platform = info.Size, info.Created, info.Platform
			s.age = units.HumanDuration(now.Sub(info.Created)) + " ago"
		}
		out = append(out, s)
	}
	return out, nil
}

// imagesLayout is Docker Compose's `images` table; its "json" is one array.
var imagesLayout = Layout{
	Table: "table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.Platform}}\t{{.ID}}\t{{.Size}}\t{{.Created}}",
	Header: imageColumns{ContainerName: "CONTAINER", Repository: "REPOSITORY", Tag: "TAG", Platform: "PLATFORM",
		ID: "IMAGE ID", Size: "SIZE", Created: "CREATED"},
	JSONArray: true,
	Fixed:     true,
}

// imageColumns is what the table shows of an ImageSummary.
type imageColumns struct {
	ContainerName, Repository, Tag, Platform, ID, Size, Created string
}

func (s ImageSummary) columns() any {
	size, created := "-", "-"
	if s.Size >= 0 {
		size, created = units.HumanSizeWithPrecision(float64(s.Size), 3), s.age
	}
	return imageColumns{ContainerName: s.ContainerName, Repository: s.Repository, Tag: s.Tag,
		Platform: s.Platform.String(), ID: ShortID(s.ID), Size: size, Created: created}
}

// PrintImages prints the rows of `compose images`: each image ID once
// with Quiet, else in opts.Format.
func PrintImages(out io.Writer, rows []ImageSummary, opts ImagesOptions) error {
	f, err := ParseFormat(opts.Format, imagesLayout)
	if err != nil {
		return err
	}
	if opts.Quiet {
		seen := map[string]bool{}
		for _, s := range rows {
			if !seen[s.ID] {
				fmt.Fprintln(out, strings.TrimPrefix(s.ID, "sha256:"))
			}
			seen[s.ID] = true
		}
		return nil
	}
	return Write(out, f, rows, ImageSummary.columns)
}
