package export

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podBuilder collects a pod's volumes, each under a unique name.
type podBuilder struct {
	volumes []corev1.Volume
	names   map[string]int // volume name -> index
	claims  bool           // a volume is a claim: the workload is a StatefulSet
}

func newPodBuilder() *podBuilder { return &podBuilder{names: map[string]int{}} }

// add adds v, renamed when its name is taken; shared reuses a volume of
// the same name (one claim mounted twice is one pod volume).
func (pb *podBuilder) add(v corev1.Volume, shared bool) string {
	if _, taken := pb.names[v.Name]; taken {
		if shared {
			return v.Name
		}
		base := v.Name
		for i := 2; ; i++ {
			v.Name = dns1123Label(fmt.Sprintf("%s-%d", base, i))
			if _, taken := pb.names[v.Name]; !taken {
				break
			}
		}
	}
	pb.names[v.Name] = len(pb.volumes)
	pb.volumes = append(pb.volumes, v)
	if v.PersistentVolumeClaim != nil {
		pb.claims = true
	}
	return v.Name
}

// mounts translates volumes, tmpfs, configs and secrets into mounts of
// volumes of the pod.
func (x *exporter) mounts(spec types.ContainerSpec, pb *podBuilder, w warnFn) ([]corev1.VolumeMount, error) {
	var out []corev1.VolumeMount
	var binds []string
	for _, v := range spec.Volumes {
		m := corev1.VolumeMount{MountPath: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeVolume:
			if v.Volume != nil {
				m.SubPath = v.Volume.Subpath
				if len(v.Volume.Labels) > 0 {
					w("volumes", fmt.Sprintf("labels of the mount at %s not exported", v.Target))
				}
			}
			if v.Source == "" {
				// An anonymous volume lives as long as the pod.
				m.Name = pb.add(corev1.Volume{Name: dns1123Label("anon" + v.Target), VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, false)
				break
			}
			claim := x.volNames[v.Source]
			if def, ok := x.p.Volumes[v.Source]; ok && bool(def.External) {
				claim = dns1123Subdomain(def.Name)
			}
			m.Name = pb.add(corev1.Volume{Name: dns1123Label("vol-" + claim), VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}, true)
		case types.VolumeTypeTmpfs:
			ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
			if v.Tmpfs != nil {
				if v.Tmpfs.Size > 0 {
					ed.SizeLimit = resource.NewQuantity(int64(v.Tmpfs.Size), resource.BinarySI)
				}
				if v.Tmpfs.Mode != 0 {
					w("volumes", fmt.Sprintf("the mode of the tmpfs at %s is not exported", v.Target))
				}
			}
			m.Name = pb.add(corev1.Volume{Name: dns1123Label("tmpfs" + v.Target), VolumeSource: corev1.VolumeSource{EmptyDir: ed}}, false)
		case types.VolumeTypeImage:
			m.ReadOnly = true
			if v.Image != nil {
				m.SubPath = v.Image.SubPath
			}
			m.Name = pb.add(corev1.Volume{Name: dns1123Label("image" + v.Target), VolumeSource: corev1.VolumeSource{
				Image: &corev1.ImageVolumeSource{Reference: v.Source},
			}}, false)
		case types.VolumeTypeBind:
			binds = append(binds, relTo(x.p.WorkingDir, v.Source)+":"+v.Target)
			continue
		default:
			w("volumes", fmt.Sprintf("a mount of type %q at %s has no Kubernetes equivalent: not exported", v.Type, v.Target))
			continue
		}
		out = append(out, m)
	}
	if len(binds) > 0 {
		w("volumes", fmt.Sprintf("bind mounts (%s) are files of this machine, not of the cluster: not exported (use configs:, or a named volume)", strings.Join(binds, ", ")))
	}
	for _, t := range spec.Tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
		for _, o := range strings.Split(opts, ",") {
			k, val, _ := strings.Cut(o, "=")
			switch k {
			case "":
			case "size":
				q, err := parseBytes(val)
				if err != nil {
					w("tmpfs", fmt.Sprintf("size %q of %s: %v", val, target, err))
					continue
				}
				ed.SizeLimit = q
			default:
				w("tmpfs", fmt.Sprintf("option %q of %s not exported", o, target))
			}
		}
		name := pb.add(corev1.Volume{Name: dns1123Label("tmpfs" + target), VolumeSource: corev1.VolumeSource{EmptyDir: ed}}, false)
		out = append(out, corev1.VolumeMount{Name: name, MountPath: target})
	}
	for _, c := range spec.Configs {
		m, err := x.fileMount("config", types.FileReferenceConfig(c), pb, w)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	for _, s := range spec.Secrets {
		m, err := x.fileMount("secret", types.FileReferenceConfig(s), pb, w)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// fileMount mounts a config (a ConfigMap) or a secret (a Secret) as the
// one file its target names: configs at /<name> by default, secrets at
// /run/secrets/<name>.
func (x *exporter) fileMount(kind string, ref types.FileReferenceConfig, pb *podBuilder, w warnFn) (corev1.VolumeMount, error) {
	var def types.FileObjectConfig
	var obj string
	var ok bool
	target := ref.Target
	if kind == "config" {
		var c types.ConfigObjConfig
		c, ok = x.p.Configs[ref.Source]
		def, obj = types.FileObjectConfig(c), x.cfgNames[ref.Source]
		if target == "" {
			target = "/" + ref.Source
		} else if !path.IsAbs(target) {
			target = "/" + target
		}
	} else {
		var s types.SecretConfig
		s, ok = x.p.Secrets[ref.Source]
		def, obj = types.FileObjectConfig(s), x.secNames[ref.Source]
		if target == "" {
			target = "/run/secrets/" + ref.Source
		} else if !path.IsAbs(target) {
			target = "/run/secrets/" + target
		}
	}
	if !ok {
		return corev1.VolumeMount{}, fmt.Errorf("%s %q is not defined", kind, ref.Source)
	}
	if def.External {
		obj = dns1123Subdomain(def.Name)
	}
	if ref.UID != "" || ref.GID != "" {
		w(kind+"s", fmt.Sprintf("uid and gid of %s are not exported: Kubernetes sets no owner per file (the pod's fsGroup sets the group of all volumes)", target))
	}
	key := dataKey(ref.Source)
	item := corev1.KeyToPath{Key: key, Path: key}
	if ref.Mode != nil {
		item.Mode = ptr(int32(*ref.Mode))
	}
	v := corev1.Volume{Name: dns1123Label(kind[:3] + "-" + ref.Source)}
	if kind == "config" {
		v.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: obj}, Items: []corev1.KeyToPath{item}}
	} else {
		v.Secret = &corev1.SecretVolumeSource{SecretName: obj, Items: []corev1.KeyToPath{item}}
	}
	name := pb.add(v, false)
	return corev1.VolumeMount{Name: name, MountPath: target, SubPath: key, ReadOnly: true}, nil
}

// volumes makes a claim for each named volume the project defines (an
// external one is a claim that exists already, named by its name).
func (x *exporter) volumes() {
	users := map[string][]string{} // volume -> services mounting it
	pods := map[string]int{}
	for _, s := range x.p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				users[v.Source] = append(users[v.Source], s.Name)
				pods[v.Source] += s.GetScale()
			}
		}
	}
	for _, k := range sortedKeys(x.p.Volumes) {
		def := x.p.Volumes[k]
		obj := fmt.Sprintf("volume %q", k)
		if def.Driver != "" && def.Driver != "local" {
			x.warn(obj, "driver", fmt.Sprintf("%q not exported: the claim gets the cluster's default storage class", def.Driver))
		}
		if len(def.DriverOpts) > 0 {
			x.warn(obj, "driver_opts", "not exported: the claim gets the cluster's default storage class")
		}
		if pods[k] > 1 {
			x.warn(obj, "volumes", fmt.Sprintf("mounted by %d pods (%s): its claim is ReadWriteOnce, so they must run on one node (or give the claim a ReadWriteMany storage class)", pods[k], strings.Join(sortedUnique(users[k]), ", ")))
		}
		if def.External {
			continue
		}
		meta := x.meta(x.volNames[k], "")
		x.userLabels(def.Labels, &meta, func(key, msg string) { x.warn(obj, key, msg) }, "labels")
		x.claims = append(x.claims, &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: meta,
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceStorage: resource.MustParse(DefaultVolumeSize),
				}},
			},
		})
	}
}

// networks warns that compose networks become the one pod network.
func (x *exporter) networks() {
	for _, k := range sortedKeys(x.p.Networks) {
		def := x.p.Networks[k]
		custom := def.Driver != "" && def.Driver != "bridge" || len(def.DriverOpts) > 0 || len(def.Ipam.Config) > 0 ||
			def.Internal || bool(def.External)
		if k == "default" && !custom {
			continue
		}
		x.warn(fmt.Sprintf("network %q", k), "networks", "not exported: Kubernetes has one flat pod network, so services on different compose networks reach each other (no isolation; a NetworkPolicy can add it)")
	}
}

// fileObjects makes a ConfigMap per config and a Secret per secret, with
// their content: from the file, the inline content or the environment
// variable, read now.
func (x *exporter) fileObjects() error {
	for _, k := range sortedKeys(x.p.Configs) {
		def := types.FileObjectConfig(x.p.Configs[k])
		if def.External {
			continue
		}
		data, err := x.content("config", k, def)
		if err != nil {
			return err
		}
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: x.fileMeta("config", k, x.cfgNames[k], def),
		}
		if utf8.Valid(data) {
			cm.Data = map[string]string{dataKey(k): string(data)}
		} else {
			cm.BinaryData = map[string][]byte{dataKey(k): data}
		}
		x.configMaps = append(x.configMaps, cm)
	}
	for _, k := range sortedKeys(x.p.Secrets) {
		def := types.FileObjectConfig(x.p.Secrets[k])
		if def.External {
			continue
		}
		data, err := x.content("secret", k, def)
		if err != nil {
			return err
		}
		x.secrets = append(x.secrets, &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: x.fileMeta("secret", k, x.secNames[k], def),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{dataKey(k): data},
		})
	}
	return nil
}

func (x *exporter) fileMeta(kind, key, name string, def types.FileObjectConfig) metav1.ObjectMeta {
	obj := fmt.Sprintf("%s %q", kind, key)
	meta := x.meta(name, "")
	x.userLabels(def.Labels, &meta, func(k, msg string) { x.warn(obj, k, msg) }, "labels")
	if def.Driver != "" || len(def.DriverOpts) > 0 {
		x.warn(obj, "driver", "not exported: the content is read now and stored in the object")
	}
	if def.TemplateDriver != "" {
		x.warn(obj, "template_driver", "not exported: the content is stored as it is")
	}
	return meta
}

// content reads a config's or secret's content as Docker Compose does.
func (x *exporter) content(kind, key string, def types.FileObjectConfig) ([]byte, error) {
	switch {
	case def.Content != "":
		return []byte(def.Content), nil
	case def.Environment != "":
		v, ok := x.p.Environment[def.Environment]
		if !ok {
			return nil, fmt.Errorf("%s %q: environment variable %q is not set", kind, key, def.Environment)
		}
		return []byte(v), nil
	case def.File != "":
		b, err := os.ReadFile(def.File)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", kind, key, err)
		}
		return b, nil
	}
	return nil, nil
}

// parseBytes reads a size like Docker's (1g, 512m, 100000).
func parseBytes(s string) (*resource.Quantity, error) {
	var b types.UnitBytes
	if err := b.DecodeMapstructure(s); err != nil {
		return nil, err
	}
	return resource.NewQuantity(int64(b), resource.BinarySI), nil
}

// relTo shows p relative to the project directory dir when it is inside.
func relTo(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && r == "." {
		return "."
	} else if err == nil && filepath.IsLocal(r) {
		return "./" + filepath.ToSlash(r)
	}
	return p
}

func sortedUnique(l []string) []string {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return sortedKeys(m)
}
