package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/internal/store"
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
			fmt.Fprintln(out, status.ShortID(img.ID))
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, status.ShortID(img.ID), created, size)
		}
	}
	return tw.Flush()
}

// splitTag splits "host:5000/repo:tag" into repo and tag (the last colon after the last slash).
func splitTag(ref string) (string, string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "<none>"
	}
	return ref[:i], ref[i+1:]
}

// imageUser names a container (short ID) that uses imageID, or "".
func (e *Engine) imageUser(imageID string) string {
	recs, _ := e.containers("")
	for _, r := range recs {
		if r.ImageID == imageID {
			return r.ID[:12]
		}
	}
	return ""
}

// RemoveImages is `compose image rm`: like `docker rmi`, refusing images a
// container uses unless force.
func (e *Engine) RemoveImages(ctx context.Context, refs []string, force bool, out io.Writer) error {
	var errs []error
	for _, ref := range refs {
		untagged, deleted, err := e.images.RemoveWithOptions(ctx, ref, image.RemoveOptions{Force: force, UsedBy: e.imageUser})
		for _, u := range untagged {
			fmt.Fprintf(out, "Untagged: %s\n", image.Familiar(u))
		}
		for _, d := range deleted {
			fmt.Fprintf(out, "Deleted: %s\n", d)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TagImage is `compose image tag SOURCE TARGET`.
func (e *Engine) TagImage(ctx context.Context, src, target string) error {
	return e.images.Tag(ctx, src, target)
}

// InspectImages prints `docker image inspect`-shaped JSON for refs.
func (e *Engine) InspectImages(ctx context.Context, refs []string, out io.Writer) error {
	infos := []*image.InspectInfo{}
	var errs []error
	for _, ref := range refs {
		info, err := e.images.Inspect(ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		infos = append(infos, info)
	}
	data, err := json.MarshalIndent(infos, "", "    ")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(data))
	return errors.Join(errs...)
}

// SaveImages writes a `docker save`-compatible archive of refs to path ("-"
// or "" = out), replacing path only once the archive is complete.
func (e *Engine) SaveImages(ctx context.Context, refs []string, path string, out io.Writer) error {
	if path == "" || path == "-" {
		return e.images.Save(ctx, out, refs)
	}
	f, err := store.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort() // a no-op after the commit
	if err := e.images.Save(ctx, f, refs); err != nil {
		return err
	}
	// Volatile, as before: the user's archive (maybe large), not our state.
	return f.CommitVolatile()
}

// PruneImages is `compose image prune [-a]`.
func (e *Engine) PruneImages(ctx context.Context, all bool, out io.Writer) error {
	deleted, reclaimed, err := e.images.Prune(ctx, all, func(id string) bool { return e.imageUser(id) != "" })
	if err != nil {
		return err
	}
	if len(deleted) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
		for _, d := range deleted {
			fmt.Fprintf(out, "deleted: %s\n", d)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSizeWithPrecision(float64(reclaimed), 3))
	return nil
}
