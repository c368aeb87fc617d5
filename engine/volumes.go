package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/compose-spec/compose-go/v2/types"
	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/composer-dev/compose/engine/image"
	"github.com/composer-dev/compose/engine/record"
	"github.com/composer-dev/compose/engine/runspec"
	"github.com/composer-dev/compose/errdefs"
	"github.com/composer-dev/compose/progress"
	"github.com/composer-dev/compose/volumes"
)

// Labels of volumes, as Docker and Compose set them.
const (
	labelVolume    = "com.docker.compose.volume"
	labelAnonymous = "com.docker.volume.anonymous"
)

func (e *Engine) volumeStore() *volumes.Store {
	return &volumes.Store{Dir: filepath.Join(e.root, "volumes")}
}

// checkStorage finds the storage errors a user can fix before anything is
// created: undefined or missing external volumes, bad driver options, bind
// sources that are files where a directory is needed, secrets and configs
// without content, volumes_from naming nothing.
func (e *Engine) checkStorage(pl *plan) error {
	p := pl.project
	for _, vol := range p.Volumes { // all are created by up, used or not
		if bool(vol.External) {
			continue
		}
		if err := volumes.ValidateName(vol.Name); err != nil {
			return err
		}
		if err := volumes.ValidateOptions(vol.Name, vol.Driver, vol.DriverOpts); err != nil {
			return err
		}
	}
	for _, name := range pl.graph.Services() {
		svc, err := p.GetService(name)
		if err != nil {
			return err
		}
		if err := e.checkServiceStorage(p, svc, pl.images[name]); err != nil {
			return fmt.Errorf("service %q: %w", name, err)
		}
	}
	return nil
}

func (e *Engine) checkServiceStorage(p *types.Project, svc types.ServiceConfig, img *image.Image) error {
	for _, v := range svc.Volumes {
		if !filepath.IsAbs(v.Target) {
			return fmt.Errorf("volume target %q must be an absolute path: %w", v.Target, errdefs.ErrInvalidArgument)
		}
		switch v.Type {
		case types.VolumeTypeVolume:
			if err := e.checkVolume(p, v); err != nil {
				return err
			}
		case types.VolumeTypeBind:
			if err := checkBind(v, img); err != nil {
				return err
			}
		case types.VolumeTypeTmpfs:
		default:
			return fmt.Errorf("volume %s: type %q is not supported: %w", v.Target, v.Type, errdefs.ErrInvalidArgument)
		}
	}
	for _, from := range svc.VolumesFrom {
		kind, name, _ := parseVolumesFrom(from)
		if kind == "container" {
			if _, err := e.findContainer(name); err != nil {
				return fmt.Errorf("volumes_from %q: no such container: %w", from, errdefs.ErrNotFound)
			}
		} else if _, ok := p.Services[name]; !ok {
			return fmt.Errorf("volumes_from %q: no such service: %w", from, errdefs.ErrNotFound)
		}
	}
	for _, s := range svc.Secrets {
		obj, ok := p.Secrets[s.Source]
		if !ok {
			return fmt.Errorf("secret %q is not defined: %w", s.Source, errdefs.ErrInvalidArgument)
		}
		if _, err := fileObjectContent(p, "secret", s.Source, types.FileObjectConfig(obj)); err != nil {
			return err
		}
	}
	for _, c := range svc.Configs {
		obj, ok := p.Configs[c.Source]
		if !ok {
			return fmt.Errorf("config %q is not defined: %w", c.Source, errdefs.ErrInvalidArgument)
		}
		if _, err := fileObjectContent(p, "config", c.Source, types.FileObjectConfig(obj)); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) checkVolume(p *types.Project, v types.ServiceVolumeConfig) error {
	if v.Volume != nil && v.Volume.Subpath != "" {
		sp := v.Volume.Subpath
		if filepath.IsAbs(sp) || sp == ".." || strings.HasPrefix(filepath.Clean(sp), "../") {
			return fmt.Errorf("volume %s: subpath %q must be relative, inside the volume: %w", v.Source, sp, errdefs.ErrInvalidArgument)
		}
	}
	if v.Source == "" {
		return nil
	}
	vol, declared := p.Volumes[v.Source]
	if !declared { // `run -v name:/path`: a plain volume of that name, as Docker does
		return volumes.ValidateName(v.Source)
	}
	if bool(vol.External) {
		if _, err := e.volumeStore().Get(vol.Name); err != nil {
			return fmt.Errorf("external volume %q not found: %w", vol.Name, errdefs.ErrNotFound)
		}
		return nil
	}
	if err := volumes.ValidateName(vol.Name); err != nil {
		return err
	}
	return volumes.ValidateOptions(vol.Name, vol.Driver, vol.DriverOpts)
}

// checkBind refuses a bind whose source cannot be a directory (a file in the
// way of a host dir to create) or is a file where the image has a directory.
func checkBind(v types.ServiceVolumeConfig, img *image.Image) error {
	src := v.Source
	fi, err := os.Stat(src)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("bind source %s: %w", src, err)
		}
		if v.Bind != nil && !bool(v.Bind.CreateHostPath) {
			return fmt.Errorf("bind source path does not exist: %s: %w", src, errdefs.ErrNotFound)
		}
		// The nearest existing ancestor must be a directory to create it under.
		for dir := filepath.Dir(src); ; dir = filepath.Dir(dir) {
			if fi, err := os.Stat(dir); err == nil {
				if !fi.IsDir() {
					return fmt.Errorf("bind source %s: %s is a file, not a directory: %w", src, dir, errdefs.ErrInvalidArgument)
				}
				return nil
			}
			if dir == "/" {
				return nil
			}
		}
	}
	if !fi.IsDir() && img != nil && imageIsDir(img.LayerDirs, v.Target) {
		return fmt.Errorf("bind source %s is a file but %s is a directory in the image: %w", src, v.Target, errdefs.ErrInvalidArgument)
	}
	return nil
}

// imageIsDir reports whether the image's top-most entry at path is a directory.
func imageIsDir(layers []string, path string) bool {
	for i := len(layers) - 1; i >= 0; i-- {
		p, err := securejoin.SecureJoin(layers[i], path)
		if err != nil {
			return false
		}
		if fi, err := os.Lstat(p); err == nil {
			return fi.IsDir()
		}
	}
	return false
}

// parseVolumesFrom splits "service:x[:ro]", "container:x[:rw]" or "x[:ro]".
func parseVolumesFrom(s string) (kind, name string, readOnly bool) {
	parts := strings.Split(s, ":")
	if n := len(parts); n > 1 && (parts[n-1] == "ro" || parts[n-1] == "rw") {
		readOnly = parts[n-1] == "ro"
		parts = parts[:n-1]
	}
	if len(parts) == 2 && (parts[0] == "service" || parts[0] == "container") {
		return parts[0], parts[1], readOnly
	}
	return "service", strings.Join(parts, ":"), readOnly
}

func (e *Engine) findContainer(name string) (*record.Record, error) {
	all, err := e.containers("")
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Name == name || r.ID == name || len(name) >= 12 && strings.HasPrefix(r.ID, name) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("container %q: %w", name, errdefs.ErrNotFound)
}

// fileObjectContent reads a secret's or config's content from its source.
func fileObjectContent(p *types.Project, kind, key string, obj types.FileObjectConfig) ([]byte, error) {
	switch {
	case bool(obj.External):
		return nil, fmt.Errorf("%s %q: external %ss are not supported (they need a swarm): %w", kind, key, kind, errdefs.ErrInvalidArgument)
	case obj.File != "":
		b, err := os.ReadFile(obj.File)
		if err != nil {
			return nil, fmt.Errorf("%s %q: file %s: %w", kind, key, obj.File, errdefs.ErrNotFound)
		}
		return b, nil
	case obj.Content != "":
		// Inline, or an `environment:` source already resolved by the
		// loader, in the environment of the file that declares it (an
		// include's env_file): Docker Compose's resolveFileContent.
		return []byte(obj.Content), nil
	case obj.Environment != "":
		v, ok := p.Environment[obj.Environment]
		if !ok {
			return nil, fmt.Errorf("environment variable %q required by %s %q is not set: %w", obj.Environment, kind, key, errdefs.ErrInvalidArgument)
		}
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%s %q: needs file, environment or content: %w", kind, key, errdefs.ErrInvalidArgument)
}

// storageMounts prepares the volumes, binds, tmpfs, volumes_from, secrets and
// configs of a new container and returns its mounts, parents first. prev is
// the container it replaces, whose anonymous volumes it takes over.
func (e *Engine) storageMounts(ctx context.Context, pl *plan, svc types.ServiceConfig, rec *record.Record, img *image.Image, prev *record.Record) ([]runspec.Mount, error) {
	m := &mountSet{e: e, ctx: ctx, p: pl.project, rec: rec, img: img, vols: e.volumeStore(), prevAnon: map[string]string{}, taken: map[string]bool{}}
	if prev != nil {
		for _, v := range prev.Volumes {
			if v.Anonymous {
				m.prevAnon[v.Destination] = v.Name
			}
		}
	}
	for _, v := range svc.Volumes {
		if err := m.serviceVolume(v); err != nil {
			return nil, err
		}
	}
	if err := m.imageVolumes(svc); err != nil {
		return nil, err
	}
	if err := e.volumesFrom(m.p, svc, m.add, m.taken); err != nil {
		return nil, err
	}
	if err := e.fileObjects(m.p, svc, rec, m.add); err != nil {
		return nil, err
	}
	// Parents before children, so a mount inside another one is not hidden.
	sort.SliceStable(m.mounts, func(i, j int) bool { return depth(m.mounts[i].Destination) < depth(m.mounts[j].Destination) })
	return m.mounts, nil
}

// mountSet gathers a new container's storage mounts and the volume
// references its record keeps.
type mountSet struct {
	e        *Engine
	ctx      context.Context
	p        *types.Project
	rec      *record.Record
	img      *image.Image
	vols     *volumes.Store
	prevAnon map[string]string // target -> anonymous volume of the container replaced
	taken    map[string]bool   // targets mounted already
	mounts   []runspec.Mount
}

func (m *mountSet) add(mt runspec.Mount, ref *record.VolumeRef) {
	m.taken[mt.Destination] = true
	m.mounts = append(m.mounts, mt)
	if ref != nil {
		m.rec.Volumes = append(m.rec.Volumes, *ref)
	}
}

// anonymousName is the volume at target: the one the replaced container
// had there (taken over, as Docker does), or a new one.
func (m *mountSet) anonymousName(target string) string {
	if name := m.prevAnon[target]; name != "" {
		return name
	}
	return record.NewID()
}

func (m *mountSet) anonLabels() map[string]string {
	return map[string]string{record.LabelProject: m.p.Name, labelAnonymous: "", record.LabelVersion: Version}
}

// serviceVolume mounts one entry of the service's volumes: a named or
// anonymous volume, a bind (its missing host dir created, like Docker
// Compose) or a tmpfs.
func (m *mountSet) serviceVolume(v types.ServiceVolumeConfig) error {
	switch v.Type {
	case types.VolumeTypeVolume:
		if v.Source == "" {
			return m.volume(m.anonymousName(v.Target), m.anonLabels(), nil, v, true)
		}
		name, labels, opts := v.Source, map[string]string(nil), map[string]string(nil)
		if vol, ok := m.p.Volumes[v.Source]; ok {
			name, opts = vol.Name, vol.DriverOpts
			if !bool(vol.External) {
				labels = map[string]string{record.LabelProject: m.p.Name, labelVolume: v.Source, record.LabelVersion: Version}
				for k, val := range vol.Labels {
					labels[k] = val
				}
			}
		}
		return m.volume(name, labels, opts, v, false)
	case types.VolumeTypeBind:
		if _, err := os.Stat(v.Source); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(v.Source, 0o755); err != nil {
				return fmt.Errorf("bind source %s: %w", v.Source, err)
			}
		}
		mt := runspec.Mount{Source: v.Source, Destination: filepath.Clean(v.Target), ReadOnly: v.ReadOnly}
		if v.Bind != nil {
			mt.Propagation = v.Bind.Propagation
		}
		m.add(mt, &record.VolumeRef{Type: "bind", Source: v.Source, Destination: mt.Destination, ReadOnly: v.ReadOnly})
	case types.VolumeTypeTmpfs:
		mt := runspec.Mount{Type: "tmpfs", Destination: filepath.Clean(v.Target), ReadOnly: v.ReadOnly}
		if v.Tmpfs != nil {
			if v.Tmpfs.Size > 0 {
				mt.Options = append(mt.Options, "size="+strconv.FormatInt(int64(v.Tmpfs.Size), 10))
			}
			if v.Tmpfs.Mode != 0 {
				mt.Options = append(mt.Options, "mode="+strconv.FormatUint(uint64(v.Tmpfs.Mode), 8))
			}
		}
		m.add(mt, nil)
	}
	return nil
}

// imageVolumes gives the image's VOLUMEs the service does not cover
// anonymous volumes.
func (m *mountSet) imageVolumes(svc types.ServiceConfig) error {
	if m.img == nil {
		return nil
	}
	paths := make([]string, 0, len(m.img.Config.Volumes))
	for path := range m.img.Config.Volumes {
		paths = append(paths, filepath.Clean(path))
	}
	sort.Strings(paths)
	for _, path := range paths {
		if m.taken[path] || tmpfsAt(svc, path) {
			continue
		}
		v := types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Target: path}
		if err := m.volume(m.anonymousName(path), m.anonLabels(), nil, v, true); err != nil {
			return err
		}
	}
	return nil
}

// volume mounts a named or anonymous volume at its target, filling it
// from the image on first use (unless nocopy or a subpath).
func (m *mountSet) volume(name string, labels, opts map[string]string, v types.ServiceVolumeConfig, anonymous bool) error {
	vol, err := m.e.ensureVolume(m.ctx, name, labels, opts, !anonymous || m.prevAnon[v.Target] != name)
	if err != nil {
		return err
	}
	src, err := m.vols.Source(vol)
	if err != nil {
		return err
	}
	sub := v.Volume != nil && v.Volume.Subpath != ""
	if sub {
		if src, err = securejoin.SecureJoin(src, v.Volume.Subpath); err != nil {
			return err
		}
		if fi, err := os.Stat(src); err != nil || !fi.IsDir() && !fi.Mode().IsRegular() {
			return fmt.Errorf("volume %q: subpath %s does not exist: %w", name, v.Volume.Subpath, errdefs.ErrNotFound)
		}
	}
	if !sub && (v.Volume == nil || !v.Volume.NoCopy) && m.img != nil {
		if err := m.vols.Fill(m.ctx, src, m.img.LayerDirs, v.Target); err != nil {
			return fmt.Errorf("volume %q: %w", name, err)
		}
	}
	m.add(runspec.Mount{Source: src, Destination: filepath.Clean(v.Target), ReadOnly: v.ReadOnly},
		&record.VolumeRef{Type: "volume", Name: name, Destination: filepath.Clean(v.Target), ReadOnly: v.ReadOnly, Anonymous: anonymous})
	return nil
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

func tmpfsAt(svc types.ServiceConfig, path string) bool {
	for _, t := range svc.Tmpfs {
		dest, _, _ := strings.Cut(t, ":")
		if filepath.Clean(dest) == path {
			return true
		}
	}
	return false
}

// ensureVolume returns the volume, creating it when missing. progress says
// whether its creation is shown (not for a taken-over anonymous volume).
func (e *Engine) ensureVolume(ctx context.Context, name string, labels, opts map[string]string, progress bool) (*volumes.Volume, error) {
	vols := e.volumeStore()
	if v, err := vols.Get(name); err == nil {
		return v, nil
	}
	_, anonymous := labels[labelAnonymous]
	show := progress && !anonymous
	if show {
		e.progress("Volume", strconv.Quote(name), "Creating")
	}
	if e.dryRun {
		if show {
			e.progress("Volume", strconv.Quote(name), "Created")
		}
		return &volumes.Volume{Name: name, Labels: labels}, nil
	}
	v, err := vols.Create(ctx, name, labels, opts)
	if errors.Is(err, errdefs.ErrAlreadyExists) { // created by a parallel service
		return vols.Get(name)
	}
	if err != nil {
		return nil, err
	}
	if show {
		e.progress("Volume", strconv.Quote(name), "Created")
	}
	return v, nil
}

// volumesFrom adds the volumes and binds of other containers, read-only when asked.
func (e *Engine) volumesFrom(p *types.Project, svc types.ServiceConfig, add func(runspec.Mount, *record.VolumeRef), taken map[string]bool) error {
	for _, from := range svc.VolumesFrom {
		kind, name, ro := parseVolumesFrom(from)
		var src *record.Record
		if kind == "container" {
			r, err := e.findContainer(name)
			if err != nil {
				return fmt.Errorf("volumes_from %q: %w", from, err)
			}
			src = r
		} else {
			recs, err := e.serviceContainers(p.Name, name)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				return fmt.Errorf("volumes_from %q: service has no container: %w", from, errdefs.ErrNotFound)
			}
			src = recs[0]
		}
		for _, ref := range src.Volumes {
			if taken[ref.Destination] {
				continue
			}
			ref.ReadOnly = ref.ReadOnly || ro
			ref.Anonymous = false // the owner keeps it
			source := ref.Source
			if ref.Type == "volume" {
				vol, err := e.volumeStore().Get(ref.Name)
				if err != nil {
					return fmt.Errorf("volumes_from %q: %w", from, err)
				}
				if source, err = e.volumeStore().Source(vol); err != nil {
					return err
				}
			}
			add(runspec.Mount{Source: source, Destination: ref.Destination, ReadOnly: ref.ReadOnly}, &ref)
		}
	}
	return nil
}

// fileObjects writes the service's secrets and configs into the container's
// dir, with their owner and mode, and binds them read-only.
func (e *Engine) fileObjects(p *types.Project, svc types.ServiceConfig, rec *record.Record, add func(runspec.Mount, *record.VolumeRef)) error {
	type ref struct {
		kind string
		cfg  types.FileReferenceConfig
		obj  types.FileObjectConfig
	}
	var refs []ref
	for _, s := range svc.Secrets {
		refs = append(refs, ref{"secret", types.FileReferenceConfig(s), types.FileObjectConfig(p.Secrets[s.Source])})
	}
	for _, c := range svc.Configs {
		refs = append(refs, ref{"config", types.FileReferenceConfig(c), types.FileObjectConfig(p.Configs[c.Source])})
	}
	for i, r := range refs {
		content, err := fileObjectContent(p, r.kind, r.cfg.Source, r.obj)
		if err != nil {
			return err
		}
		target := r.cfg.Target
		switch {
		case target == "" && r.kind == "secret":
			target = "/run/secrets/" + r.cfg.Source
		case target == "":
			target = "/" + r.cfg.Source
		case !filepath.IsAbs(target) && r.kind == "secret":
			target = "/run/secrets/" + target
		case !filepath.IsAbs(target):
			target = "/" + target
		}
		uid, gid, err := ownerIDs(r.cfg)
		if err != nil {
			return fmt.Errorf("%s %q: %w", r.kind, r.cfg.Source, err)
		}
		mode := os.FileMode(0o444)
		if r.cfg.Mode != nil {
			mode = os.FileMode(*r.cfg.Mode) & os.ModePerm
		}
		// Numbered names: two references may use the same source.
		host := filepath.Join(rec.Dir, r.kind+"s", strconv.Itoa(i)+"-"+r.cfg.Source)
		if err := volumes.WriteFile(host, content, uid, gid, mode); err != nil {
			return fmt.Errorf("%s %q: %w", r.kind, r.cfg.Source, err)
		}
		add(runspec.Mount{Source: host, Destination: filepath.Clean(target), ReadOnly: true}, nil)
	}
	return nil
}

func ownerIDs(c types.FileReferenceConfig) (int, int, error) {
	ids := [2]int{}
	for i, s := range []string{c.UID, c.GID} {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("uid/gid %q must be a number: %w", s, errdefs.ErrInvalidArgument)
		}
		ids[i] = n
	}
	return ids[0], ids[1], nil
}

// volumeUsers names the containers that use a volume.
func (e *Engine) volumeUsers(name string, except map[string]bool) ([]string, error) {
	all, err := e.containers("")
	if err != nil {
		return nil, err
	}
	var users []string
	for _, r := range all {
		if except[r.ID] {
			continue
		}
		for _, v := range r.Volumes {
			if v.Type == "volume" && v.Name == name {
				users = append(users, r.Name)
				break
			}
		}
	}
	return users, nil
}

// removeVolume deletes a volume unless a container uses it, other than
// those going with it (by ID: a dry run of `down -v` still has them).
func (e *Engine) removeVolume(ctx context.Context, name string, going map[string]bool) error {
	users, err := e.volumeUsers(name, going)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("volume %q is in use by %s: %w", name, strings.Join(users, ", "), errdefs.ErrConflict)
	}
	if _, err := e.volumeStore().Get(name); err != nil {
		return err // checked here too, for a dry run
	}
	return e.would(func() error { return e.volumeStore().Remove(ctx, name) })
}

// projectVolumes lists what `down -v` removes: the project's named volumes
// (never external ones) and the anonymous volumes of its containers.
func (e *Engine) projectVolumes(name string, p *types.Project, recs []*record.Record) ([]string, error) {
	external := map[string]bool{}
	if p != nil {
		for _, v := range p.Volumes {
			if bool(v.External) {
				external[v.Name] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	addName := func(n string) {
		if !seen[n] && !external[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, r := range recs {
		for _, v := range r.Volumes {
			if v.Anonymous {
				addName(v.Name)
			}
		}
	}
	all, err := e.volumeStore().List()
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.Labels[record.LabelProject] == name {
			addName(v.Name)
		}
	}
	return out, nil
}

// downVolumes removes the volumes `down -v` removes (see projectVolumes).
func (e *Engine) downVolumes(ctx context.Context, name string, p *types.Project, recs []*record.Record) error {
	names, err := e.projectVolumes(name, p, recs)
	if err != nil {
		return err
	}
	going := map[string]bool{}
	for _, r := range recs {
		going[r.ID] = true
	}
	var errs []error
	for _, n := range names {
		// Unquoted, unlike the creation's "Volume \"x\"": Docker Compose's
		// removeVolume names it with %s (down.go).
		e.progress("Volume", n, "Removing")
		err := e.removeVolume(ctx, n, going)
		if errors.Is(err, errdefs.ErrConflict) { // another container still uses it: Docker's warning
			e.event(progress.Event{ID: "Volume " + n, Text: "Resource is still in use", Status: progress.Warning})
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.progress("Volume", n, "Removed")
	}
	return errors.Join(errs...)
}

// removeAnonymousVolumes removes the anonymous volumes of a removed
// container (`rm -v`); one still used by another container is kept.
func (e *Engine) removeAnonymousVolumes(ctx context.Context, r *record.Record) error {
	var errs []error
	for _, v := range r.Volumes {
		if !v.Anonymous {
			continue
		}
		if users, err := e.volumeUsers(v.Name, nil); err != nil || len(users) > 0 {
			continue
		}
		if err := e.volumeStore().Remove(ctx, v.Name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ensureProjectVolumes creates the project's declared volumes (not the
// external ones) before any container, as Compose does.
func (e *Engine) ensureProjectVolumes(ctx context.Context, p *types.Project) error {
	keys := make([]string, 0, len(p.Volumes))
	for k := range p.Volumes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vol := p.Volumes[k]
		if bool(vol.External) {
			continue
		}
		labels := map[string]string{record.LabelProject: p.Name, labelVolume: k, record.LabelVersion: Version}
		for lk, lv := range vol.Labels {
			labels[lk] = lv
		}
		if _, err := e.ensureVolume(ctx, vol.Name, labels, vol.DriverOpts, true); err != nil {
			return err
		}
	}
	return nil
}
