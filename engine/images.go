package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/image"
)

// LoadImages reads a `docker save` or OCI archive into the store and prints
// "Loaded image: NAME" per image, as `docker load` does.
func (e *Engine) LoadImages(ctx context.Context, r io.Reader, out io.Writer) error {
	refs, err := e.images.Load(ctx, r)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if strings.HasPrefix(ref, "sha256:") { // an untagged image
			fmt.Fprintf(out, "Loaded image ID: %s\n", ref)
			continue
		}
		fmt.Fprintf(out, "Loaded image: %s\n", image.Familiar(ref))
	}
	return nil
}

// ListImages prints the store like `docker image ls`.
func (e *Engine) ListImages(ctx context.Context, quiet bool, out io.Writer) error {
	imgs, err := e.images.List()
	if err != nil {
		return err
	}
	if quiet {
		for _, img := range imgs {
			fmt.Fprintln(out, shortID(img.ID))
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	now := time.Now()
	for _, img := range imgs {
		created := units.HumanDuration(now.Sub(img.Created)) + " ago"
		size := units.HumanSizeWithPrecision(float64(img.Size), 3)
		tags := img.RepoTags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			repo, tag := splitTag(t)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, shortID(img.ID), created, size)
		}
	}
	return tw.Flush()
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// splitTag splits "host:5000/repo:tag" into repo and tag (the last colon after the last slash).
func splitTag(ref string) (string, string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "<none>"
	}
	return ref[:i], ref[i+1:]
}

// ProjectImages prints the images the project's containers use, like
// `docker compose images`.
func (e *Engine) ProjectImages(ctx context.Context, projectName string, services []string, quiet bool, out io.Writer) error {
	recs, err := e.containers(projectName)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, s := range services {
		wanted[s] = true
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE")
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if len(wanted) > 0 && !wanted[r.Service] {
			continue
		}
		if quiet {
			if !seen[r.ImageID] {
				fmt.Fprintln(out, strings.TrimPrefix(r.ImageID, "sha256:"))
			}
			seen[r.ImageID] = true
			continue
		}
		ref := r.Image
		if n, err := image.Normalize(ref); err == nil {
			ref = n
		}
		repo, tag := splitTag(image.Familiar(ref))
		size := "-"
		if img, err := e.images.Get(r.ImageID); err == nil {
			size = units.HumanSizeWithPrecision(float64(img.Size), 3)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, repo, tag, shortID(r.ImageID), size)
	}
	return tw.Flush()
}
