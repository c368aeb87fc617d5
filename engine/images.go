package engine

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/status"
	"github.com/composer-dev/compose/internal/store"
)

// LoadImages reads a `docker save` or OCI archive into the store and
// returns the names loaded (an image without one by its ID).
func (e *Engine) LoadImages(ctx context.Context, r io.Reader) ([]string, error) {
	refs, err := e.images.Load(ctx, r)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(refs))
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "sha256:") {
			ref = image.Familiar(ref)
		}
		out = append(out, ref)
	}
	return out, nil
}

// ListImages lists the store like `docker image ls`: a row per name, or
// one "<none>" row for an image without.
func (e *Engine) ListImages(ctx context.Context) ([]status.ImageListRow, error) {
	imgs, err := e.images.List()
	if err != nil {
		return nil, err
	}
	var rows []status.ImageListRow
	for _, img := range imgs {
		tags := img.RepoTags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			repo, tag := splitTag(t)
			rows = append(rows, status.ImageListRow{Repository: repo, Tag: tag, ID: img.ID, Created: img.Created, Size: img.Size})
		}
	}
	return rows, nil
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
// container uses unless force. It reports what it did, also when one of
// the images could not go.
func (e *Engine) RemoveImages(ctx context.Context, refs []string, force bool) (status.ImageRemoval, error) {
	var done status.ImageRemoval
	var errs []error
	for _, ref := range refs {
		untagged, deleted, err := e.images.RemoveWithOptions(ctx, ref, image.RemoveOptions{Force: force, UsedBy: e.imageUser})
		for _, u := range untagged {
			done.Untagged = append(done.Untagged, image.Familiar(u))
		}
		done.Deleted = append(done.Deleted, deleted...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return done, errors.Join(errs...)
}

// TagImage is `compose image tag SOURCE TARGET`.
func (e *Engine) TagImage(ctx context.Context, src, target string) error {
	return e.images.Tag(ctx, src, target)
}

// InspectImages returns `docker image inspect`'s documents for refs (those
// found, with an error naming the others).
func (e *Engine) InspectImages(ctx context.Context, refs []string) ([]*image.InspectInfo, error) {
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
	return infos, errors.Join(errs...)
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

// PruneImages is `compose image prune [-a]`: the images deleted and the
// bytes freed.
func (e *Engine) PruneImages(ctx context.Context, all bool) ([]string, int64, error) {
	return e.images.Prune(ctx, all, func(id string) bool { return e.imageUser(id) != "" })
}
