package export

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// warnFn reports a warning about one key of the object at hand.
type warnFn func(key, msg string)

// service translates one compose service: its workload, its Service (and
// one per network alias).
func (x *exporter) service(s types.ServiceConfig) error {
	obj := serviceObject(s.Name)
	w := func(key, msg string) { x.warn(obj, key, msg) }
	name := x.svcNames[s.Name]
	x.unsupported(obj, s)

	pb := newPodBuilder()
	c, err := x.container(name, s.ContainerSpec, pb, w)
	if err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	c.Image = x.image(s, w)
	x.serviceResources(s, &c, w)
	c.Stdin, c.TTY = s.StdinOpen, s.Tty
	c.ReadinessProbe = probe(s.HealthCheck, w)
	c.Lifecycle = lifecycle(s, w)
	ports := servicePorts(s, w)
	for _, p := range ports {
		cp := corev1.ContainerPort{ContainerPort: p.Port, Protocol: p.Protocol}
		if len(validation.IsValidPortName(p.Name)) == 0 {
			cp.Name = p.Name
		}
		c.Ports = append(c.Ports, cp)
	}

	pod := corev1.PodSpec{Containers: []corev1.Container{c}}
	x.podLevel(s, &pod, pb, w)
	replicas := int32(s.GetScale())
	inits, err := x.initContainers(s, name, replicas, pb, w)
	if err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	// pre_start hooks see the service's volumes, as through volumes_from.
	for i := range inits {
		if strings.HasPrefix(inits[i].Name, "pre-start-") {
			for _, m := range pod.Containers[0].VolumeMounts {
				if !slices.ContainsFunc(inits[i].VolumeMounts, func(o corev1.VolumeMount) bool { return o.MountPath == m.MountPath }) {
					inits[i].VolumeMounts = append(inits[i].VolumeMounts, m)
				}
			}
		}
	}
	pod.InitContainers = inits
	pod.Volumes = pb.volumes

	meta := x.meta(name, s.Name)
	tmplMeta := metav1.ObjectMeta{Labels: x.labels(s.Name)}
	x.userLabels(s.Labels, &tmplMeta, w, "labels")
	x.userLabels(s.Labels, &meta, w, "labels")
	if len(s.Annotations) > 0 {
		tmplMeta.Annotations = mergeMaps(tmplMeta.Annotations, s.Annotations)
	}
	if s.Deploy != nil {
		x.userLabels(s.Deploy.Labels, &meta, w, "deploy.labels")
	}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: tmplMeta, Spec: pod}
	if x.workloads == nil {
		x.workloads = map[string]runtime.Object{}
	}
	x.workloads[s.Name] = x.workload(s, name, meta, tmpl, replicas, pb.claims)

	headless := len(ports) == 0 || (s.Deploy != nil && s.Deploy.EndpointMode == "dnsrr")
	x.services = append(x.services, x.kubeService(name, s.Name, ports, headless))
	x.aliases(s, name, ports, headless, w)
	return nil
}

// image is the service's image: its own, else the name Docker Compose
// gives what it builds (<project>-<service>), which the cluster must be
// able to pull.
func (x *exporter) image(s types.ServiceConfig, w warnFn) string {
	img := s.Image
	if img == "" {
		sep := "-"
		if b, _ := strconv.ParseBool(x.p.Environment["COMPOSE_COMPATIBILITY"]); b {
			sep = "_"
		}
		img = strings.ToLower(x.p.Name + sep + s.Name)
	}
	if s.Build != nil {
		w("build", fmt.Sprintf("not built by export: the pods run image %q, which must be pushed to a registry the cluster pulls from (compose build and compose push)", img))
	}
	return img
}

// container translates what a compose service shares with its pre_start
// hooks: the container itself, its mounts (into pb), its security context.
func (x *exporter) container(name string, spec types.ContainerSpec, pb *podBuilder, w warnFn) (corev1.Container, error) {
	c := corev1.Container{Name: name, Image: spec.Image, WorkingDir: spec.WorkingDir}
	c.Command, c.Args = commandArgs(spec.Entrypoint, spec.Command, w)
	c.Env = env(spec.Environment)
	switch spec.PullPolicy {
	case "":
	case types.PullPolicyAlways:
		c.ImagePullPolicy = corev1.PullAlways
	case types.PullPolicyNever:
		c.ImagePullPolicy = corev1.PullNever
	case types.PullPolicyMissing, types.PullPolicyIfNotPresent:
		c.ImagePullPolicy = corev1.PullIfNotPresent
	default:
		w("pull_policy", fmt.Sprintf("%q has no Kubernetes pull policy: the cluster's default applies", spec.PullPolicy))
	}
	c.SecurityContext = securityContext(spec, w)
	c.Resources = containerResources(spec, w)
	mounts, err := x.mounts(spec, pb, w)
	if err != nil {
		return c, err
	}
	c.VolumeMounts = mounts
	return c, nil
}

// commandArgs maps entrypoint and command onto Kubernetes' command (which
// replaces the image's ENTRYPOINT) and args (its CMD).
func commandArgs(entrypoint, command types.ShellCommand, w warnFn) ([]string, []string) {
	switch {
	case entrypoint == nil:
		// An empty command keeps the image's CMD, in Docker as here.
		if len(command) == 0 {
			return nil, nil
		}
		return nil, escapeAll(command)
	case len(entrypoint) > 0:
		// Docker drops the image's CMD once entrypoint is set, as
		// Kubernetes does when command is.
		return escapeAll(entrypoint), escapeAll(command)
	case len(command) > 0:
		// entrypoint cleared: the command is the program.
		return escapeAll(command), nil
	}
	w("entrypoint", "an empty entrypoint without a command (running the image's CMD as the program) has no Kubernetes equivalent: the image's ENTRYPOINT runs")
	return nil, nil
}

// escape keeps Kubernetes from expanding $(VAR) in command, args and env
// values, which Docker passes as they are: "$$" is Kubernetes' "$".
func escape(s string) string {
	if strings.Contains(s, "$(") || strings.Contains(s, "$$") {
		return strings.ReplaceAll(s, "$", "$$")
	}
	return s
}

func escapeAll(l []string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = escape(s)
	}
	return out
}

// env is the container's environment, sorted; a variable without a value
// (unset where the project was loaded) is left out, as Docker leaves it.
func env(m types.MappingWithEquals) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range sortedKeys(m) {
		if v := m[k]; v != nil {
			out = append(out, corev1.EnvVar{Name: k, Value: escape(*v)})
		}
	}
	return out
}

// securityContext: user (numeric ids only), capabilities, privileged,
// read_only and the security_opt Kubernetes knows.
func securityContext(spec types.ContainerSpec, w warnFn) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	set := false
	if spec.User != "" {
		uid, gid, ok := numericUser(spec.User)
		if ok {
			sc.RunAsUser, sc.RunAsGroup, set = uid, gid, true
		} else {
			w("user", fmt.Sprintf("%q names a user: Kubernetes takes numeric ids only (runAsUser), so the image's user runs; use uid[:gid]", spec.User))
		}
	}
	if spec.Privileged {
		sc.Privileged, set = ptr(true), true
	}
	if spec.ReadOnly {
		sc.ReadOnlyRootFilesystem, set = ptr(true), true
	}
	if len(spec.CapAdd) > 0 || len(spec.CapDrop) > 0 {
		sc.Capabilities, set = &corev1.Capabilities{Add: caps(spec.CapAdd), Drop: caps(spec.CapDrop)}, true
	}
	for _, o := range spec.SecurityOpt {
		k, v := splitOpt(o)
		switch {
		case k == "no-new-privileges" && (v == "" || v == "true"):
			if !spec.Privileged {
				sc.AllowPrivilegeEscalation, set = ptr(false), true
			}
		case k == "no-new-privileges" && v == "false":
		case k == "seccomp" && v == "unconfined":
			sc.SeccompProfile, set = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}, true
		case k == "apparmor" && v == "unconfined":
			sc.AppArmorProfile, set = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}, true
		default:
			w("security_opt", fmt.Sprintf("%q not exported (Kubernetes maps no-new-privileges, seccomp and apparmor unconfined only)", o))
		}
	}
	if !set {
		return nil
	}
	return sc
}

// splitOpt splits a security_opt at its first ':' or '=' (Docker takes both).
func splitOpt(o string) (string, string) {
	if i := strings.IndexAny(o, ":="); i >= 0 {
		return o[:i], o[i+1:]
	}
	return o, ""
}

// numericUser parses "uid" or "uid:gid" made of numbers.
func numericUser(u string) (*int64, *int64, bool) {
	us, gs, hasGroup := strings.Cut(u, ":")
	uid, err := strconv.ParseInt(us, 10, 64)
	if err != nil || uid < 0 {
		return nil, nil, false
	}
	if !hasGroup {
		return &uid, nil, true
	}
	gid, err := strconv.ParseInt(gs, 10, 64)
	if err != nil || gid < 0 {
		return nil, nil, false
	}
	return &uid, &gid, true
}

// caps are capability names as Kubernetes writes them: without CAP_.
func caps(l []string) []corev1.Capability {
	var out []corev1.Capability
	for _, c := range l {
		out = append(out, corev1.Capability(strings.TrimPrefix(strings.ToUpper(c), "CAP_")))
	}
	return out
}

// containerResources: cpus, mem_limit and mem_reservation (deploy.resources,
// which wins, is added by serviceResources).
func containerResources(spec types.ContainerSpec, w warnFn) corev1.ResourceRequirements {
	var r corev1.ResourceRequirements
	if spec.CPUS > 0 {
		setResource(&r.Limits, corev1.ResourceCPU, cpuQuantity(float64(spec.CPUS)))
	}
	if spec.MemLimit > 0 {
		setResource(&r.Limits, corev1.ResourceMemory, *resource.NewQuantity(int64(spec.MemLimit), resource.BinarySI))
	}
	if spec.MemReservation > 0 {
		setResource(&r.Requests, corev1.ResourceMemory, *resource.NewQuantity(int64(spec.MemReservation), resource.BinarySI))
	}
	if spec.PidsLimit > 0 {
		w("pids_limit", "Kubernetes sets no per-container pids limit (the kubelet's podPidsLimit does)")
	}
	return r
}

// serviceResources adds deploy.resources, which Docker Compose prefers to
// the service-level keys.
func (x *exporter) serviceResources(s types.ServiceConfig, c *corev1.Container, w warnFn) {
	if s.Deploy == nil {
		return
	}
	if l := s.Deploy.Resources.Limits; l != nil {
		if l.NanoCPUs > 0 {
			setResource(&c.Resources.Limits, corev1.ResourceCPU, cpuQuantity(float64(l.NanoCPUs)))
		}
		if l.MemoryBytes > 0 {
			setResource(&c.Resources.Limits, corev1.ResourceMemory, *resource.NewQuantity(int64(l.MemoryBytes), resource.BinarySI))
		}
		if l.Pids > 0 {
			w("deploy.resources.limits.pids", "Kubernetes sets no per-container pids limit (the kubelet's podPidsLimit does)")
		}
		if len(l.Devices) > 0 || len(l.GenericResources) > 0 {
			w("deploy.resources.limits", "devices and generic resources are not exported (device plugins name their own resources)")
		}
	}
	if r := s.Deploy.Resources.Reservations; r != nil {
		if r.NanoCPUs > 0 {
			setResource(&c.Resources.Requests, corev1.ResourceCPU, cpuQuantity(float64(r.NanoCPUs)))
		}
		if r.MemoryBytes > 0 {
			setResource(&c.Resources.Requests, corev1.ResourceMemory, *resource.NewQuantity(int64(r.MemoryBytes), resource.BinarySI))
		}
		if r.Pids > 0 {
			w("deploy.resources.reservations.pids", "has no Kubernetes equivalent")
		}
		if len(r.Devices) > 0 || len(r.GenericResources) > 0 {
			w("deploy.resources.reservations", "devices (GPUs) and generic resources are not exported: device plugins name their own resources (e.g. nvidia.com/gpu)")
		}
	}
}

func cpuQuantity(cpus float64) resource.Quantity {
	return *resource.NewMilliQuantity(int64(math.Round(cpus*1000)), resource.DecimalSI)
}

func setResource(l *corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	if *l == nil {
		*l = corev1.ResourceList{}
	}
	(*l)[name] = q
}

// probe turns a healthcheck into a readiness probe: a pod is Ready (its
// Service sends it traffic, the waits of its dependents end) once the
// check succeeds, as a container is healthy; Docker does not restart an
// unhealthy container, so there is no liveness probe. start_period needs
// nothing: readiness is false until the first success anyway.
func probe(hc *types.HealthCheckConfig, w warnFn) *corev1.Probe {
	if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		if hc != nil && !hc.Disable && len(hc.Test) == 0 {
			w("healthcheck", "no test: the image's HEALTHCHECK is not known to export, so there is no readiness probe")
		}
		return nil
	}
	var cmd []string
	switch hc.Test[0] {
	case "CMD":
		cmd = hc.Test[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	default:
		cmd = []string{"/bin/sh", "-c", strings.Join(hc.Test, " ")}
	}
	p := &corev1.Probe{
		// The kubelet expands $(VAR) in an exec probe's command too.
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: escapeAll(cmd)}},
		PeriodSeconds:    seconds(hc.Interval, 30*time.Second),
		TimeoutSeconds:   seconds(hc.Timeout, 30*time.Second),
		FailureThreshold: 3,
		SuccessThreshold: 1,
	}
	if hc.Retries != nil && *hc.Retries > 0 {
		p.FailureThreshold = int32(min(*hc.Retries, math.MaxInt32))
	}
	if hc.StartInterval != nil {
		w("healthcheck.start_interval", "not exported: the probe runs every interval from the start")
	}
	return p
}

// seconds rounds d (or def when unset) up to whole seconds, at least 1.
func seconds(d *types.Duration, def time.Duration) int32 {
	v := def
	if d != nil && *d > 0 {
		v = time.Duration(*d)
	}
	return int32(max(1, int64(math.Ceil(v.Seconds()))))
}

// lifecycle: the first post_start and pre_stop hooks as exec handlers.
func lifecycle(s types.ServiceConfig, w warnFn) *corev1.Lifecycle {
	hook := func(key string, hooks []types.ServiceHook) *corev1.LifecycleHandler {
		if len(hooks) == 0 {
			return nil
		}
		if len(hooks) > 1 {
			w(key, fmt.Sprintf("Kubernetes runs one %s handler: only the first of %d hooks is exported", key, len(hooks)))
		}
		h := hooks[0]
		if h.User != "" || h.Privileged || h.WorkingDir != "" || len(h.Environment) > 0 {
			w(key, "a hook's user, privileged, working_dir and environment are not exported: it runs as the container does")
		}
		// Handlers, unlike command and args, are not expanded: no escape.
		return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: h.Command}}
	}
	l := &corev1.Lifecycle{PostStart: hook("post_start", s.PostStart), PreStop: hook("pre_stop", s.PreStop)}
	if l.PostStart == nil && l.PreStop == nil {
		return nil
	}
	return l
}

// port is a port of the service, for its container and its Service.
type port struct {
	Port        int32
	Protocol    corev1.Protocol
	Name        string
	AppProtocol string
}

// servicePorts are the ports of `ports` (their target: what other
// containers connect to) and `expose`, deduplicated, in order.
func servicePorts(s types.ServiceConfig, w warnFn) []port {
	var out []port
	seen := map[string]bool{}
	add := func(p port) {
		id := fmt.Sprint(p.Port, p.Protocol)
		if seen[id] || p.Port <= 0 {
			return
		}
		seen[id] = true
		out = append(out, p)
	}
	var published []string
	for _, p := range s.Ports {
		add(port{Port: int32(p.Target), Protocol: protocol(p.Protocol), Name: p.Name, AppProtocol: p.AppProtocol})
		if p.Published != "" || p.HostIP != "" || p.Mode == "host" {
			pub := fmt.Sprintf("%s:%d", p.Published, p.Target)
			if p.HostIP != "" {
				pub = p.HostIP + ":" + pub
			}
			if p.Protocol != "" && p.Protocol != "tcp" {
				pub += "/" + p.Protocol
			}
			published = append(published, pub)
		}
	}
	if len(published) > 0 {
		w("ports", fmt.Sprintf("published ports (%s) are not published outside the cluster: the Service is a ClusterIP one, serving the target ports in the cluster (use kubectl port-forward, a LoadBalancer or NodePort Service, or an Ingress)", strings.Join(published, ", ")))
	}
	for _, e := range s.Expose {
		spec, proto, _ := strings.Cut(e, "/")
		lo, hi, isRange := strings.Cut(spec, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a <= 0 || b < a || b > 65535 {
			w("expose", fmt.Sprintf("%q is not a port or a range of ports: not exported", e))
			continue
		}
		for n := a; n <= b; n++ {
			add(port{Port: int32(n), Protocol: protocol(proto)})
		}
	}
	// Ports are named once there are several: protocol-number, or the
	// compose name when it is a valid one.
	names := map[string]bool{}
	for i := range out {
		n := out[i].Name
		if len(validation.IsValidPortName(n)) != 0 || names[n] {
			n = strings.ToLower(string(out[i].Protocol)) + "-" + strconv.Itoa(int(out[i].Port))
		}
		names[n] = true
		out[i].Name = n
	}
	return out
}

func protocol(p string) corev1.Protocol {
	switch strings.ToLower(p) {
	case "udp":
		return corev1.ProtocolUDP
	case "sctp":
		return corev1.ProtocolSCTP
	}
	return corev1.ProtocolTCP
}

// kubeService is the Service that gives the compose service's name to its
// pods: ClusterIP with its ports, headless (the name resolves to the
// pods' addresses, on any port) when it has none or endpoint_mode is dnsrr.
func (x *exporter) kubeService(name, service string, ports []port, headless bool) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: x.meta(name, service),
		Spec:       corev1.ServiceSpec{Selector: x.selector(service)},
	}
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	for _, p := range ports {
		sp := corev1.ServicePort{Name: p.Name, Port: p.Port, TargetPort: intstr.FromInt32(p.Port), Protocol: p.Protocol}
		if p.AppProtocol != "" {
			sp.AppProtocol = ptr(p.AppProtocol)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	return svc
}

// aliases adds a Service for every network alias and link alias of s, so
// that those names resolve too (in Kubernetes, in the whole namespace).
func (x *exporter) aliases(s types.ServiceConfig, name string, ports []port, headless bool, w warnFn) {
	var aliases []string
	for _, net := range sortedKeys(s.Networks) {
		if n := s.Networks[net]; n != nil {
			aliases = append(aliases, n.Aliases...)
		}
	}
	slices.Sort(aliases)
	for _, a := range slices.Compact(aliases) {
		n := dns1035(a)
		if n == name {
			continue
		}
		if owner, taken := x.nameTaken(n); taken {
			w("networks", fmt.Sprintf("alias %q is not exported: its Service name %q is %s's", a, n, owner))
			continue
		}
		if n != a {
			w("networks", fmt.Sprintf("alias %q is not a valid Kubernetes name: its Service is %q, which is also its DNS name in the cluster", a, n))
		}
		svc := x.kubeService(n, s.Name, ports, headless)
		x.services = append(x.services, svc)
	}
	for _, l := range s.Links {
		target, alias, ok := strings.Cut(l, ":")
		if !ok || alias == target {
			continue
		}
		w("links", fmt.Sprintf("alias %q of %q is not exported (links are a legacy feature): use the service name, or a network alias", alias, target))
	}
}

// nameTaken reports whether a Service is already named n (or a compose
// service will be), and whose.
func (x *exporter) nameTaken(n string) (string, bool) {
	for svc, sn := range x.svcNames {
		if sn == n {
			return fmt.Sprintf("service %q", svc), true
		}
	}
	for _, svc := range x.services {
		if svc.Name == n {
			return fmt.Sprintf("service %q", svc.Labels[LabelService]), true
		}
	}
	return "", false
}

// podLevel translates the keys that are the pod's in Kubernetes.
func (x *exporter) podLevel(s types.ServiceConfig, pod *corev1.PodSpec, pb *podBuilder, w warnFn) {
	if s.Hostname != "" {
		if len(validation.IsDNS1123Label(s.Hostname)) == 0 {
			pod.Hostname = s.Hostname
		} else {
			w("hostname", fmt.Sprintf("%q is not a DNS label, which a pod's hostname must be: not exported", s.Hostname))
		}
	}
	if s.DomainName != "" {
		w("domainname", "not exported: a pod's domain is its namespace's (subdomain needs a headless Service of that name)")
	}
	if len(s.ExtraHosts) > 0 {
		byIP := map[string][]string{}
		for host, ips := range s.ExtraHosts {
			for _, ip := range ips {
				if ip == "host-gateway" {
					w("extra_hosts", fmt.Sprintf("%s:host-gateway has no Kubernetes equivalent (the node's address is not known in advance): not exported", host))
					continue
				}
				byIP[ip] = append(byIP[ip], host)
			}
		}
		for _, ip := range sortedKeys(byIP) {
			hosts := byIP[ip]
			slices.Sort(hosts)
			pod.HostAliases = append(pod.HostAliases, corev1.HostAlias{IP: ip, Hostnames: hosts})
		}
	}
	if len(s.DNS) > 0 || len(s.DNSSearch) > 0 || len(s.DNSOpts) > 0 {
		dc := &corev1.PodDNSConfig{Nameservers: s.DNS, Searches: s.DNSSearch}
		for _, o := range s.DNSOpts {
			k, v, ok := strings.Cut(o, ":")
			opt := corev1.PodDNSConfigOption{Name: k}
			if ok {
				opt.Value = ptr(v)
			}
			dc.Options = append(dc.Options, opt)
		}
		pod.DNSConfig = dc
	}
	psc := &corev1.PodSecurityContext{}
	for _, k := range sortedKeys(s.Sysctls) {
		psc.Sysctls = append(psc.Sysctls, corev1.Sysctl{Name: k, Value: s.Sysctls[k]})
	}
	for _, g := range s.GroupAdd {
		if id, err := strconv.ParseInt(g, 10, 64); err == nil && id >= 0 {
			psc.SupplementalGroups = append(psc.SupplementalGroups, id)
		} else {
			w("group_add", fmt.Sprintf("%q names a group: Kubernetes takes numeric ids only (supplementalGroups): not exported", g))
		}
	}
	if len(psc.Sysctls) > 0 || len(psc.SupplementalGroups) > 0 {
		pod.SecurityContext = psc
	}
	if s.Init != nil && *s.Init {
		// The pause container then is the pod's PID 1, reaping zombies.
		pod.ShareProcessNamespace = ptr(true)
	}
	switch nm := s.NetworkMode; {
	case nm == "", nm == "bridge", nm == "default":
	case nm == "host":
		pod.HostNetwork = true
		pod.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	default:
		w("network_mode", fmt.Sprintf("%q has no Kubernetes equivalent (containers that share a network namespace are containers of one pod): not exported", nm))
	}
	switch s.Pid {
	case "":
	case "host":
		pod.HostPID = true
	default:
		w("pid", fmt.Sprintf("%q has no Kubernetes equivalent: not exported", s.Pid))
	}
	switch s.Ipc {
	case "", "private":
	case "host":
		pod.HostIPC = true
	default:
		w("ipc", fmt.Sprintf("%q has no Kubernetes equivalent: not exported", s.Ipc))
	}
	if s.Platform != "" {
		parts := strings.Split(s.Platform, "/")
		pod.NodeSelector = map[string]string{"kubernetes.io/os": parts[0]}
		if len(parts) > 1 {
			pod.NodeSelector["kubernetes.io/arch"] = parts[1]
		}
		if len(parts) > 2 {
			w("platform", fmt.Sprintf("the variant %q has no node label: nodes are selected by os and architecture", parts[2]))
		}
	}
	if s.StopGracePeriod != nil {
		pod.TerminationGracePeriodSeconds = ptr(int64(math.Ceil(time.Duration(*s.StopGracePeriod).Seconds())))
	}
	if s.StopSignal != "" {
		w("stop_signal", "not exported: Kubernetes stops containers with SIGTERM (or the image's STOPSIGNAL)")
	}
	if s.ShmSize > 0 {
		name := pb.add(corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			Medium: corev1.StorageMediumMemory, SizeLimit: resource.NewQuantity(int64(s.ShmSize), resource.BinarySI),
		}}}, false)
		pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/dev/shm"})
	}
	switch r := s.Restart; {
	case r == "", r == types.RestartPolicyAlways, r == types.RestartPolicyUnlessStopped:
	default:
		w("restart", fmt.Sprintf("%q not exported: the pods of a Deployment or StatefulSet are always restarted", r))
	}
	x.deploy(s, w)
	x.networkOptions(s, w)
}

// deploy warns about the deploy keys that are swarm's (replicas,
// resources, labels and endpoint_mode are translated).
func (x *exporter) deploy(s types.ServiceConfig, w warnFn) {
	d := s.Deploy
	if d == nil {
		return
	}
	switch d.Mode {
	case "", "replicated":
	default:
		w("deploy.mode", fmt.Sprintf("%q not exported: the service is a Deployment or StatefulSet with its replicas", d.Mode))
	}
	if d.UpdateConfig != nil {
		w("deploy.update_config", "not exported: Kubernetes' rolling update (maxSurge 25%, maxUnavailable 25%) applies")
	}
	if d.RollbackConfig != nil {
		w("deploy.rollback_config", "not exported: roll back with kubectl rollout undo")
	}
	if rp := d.RestartPolicy; rp != nil && rp.Condition != "any" && rp.Condition != "" {
		w("deploy.restart_policy", fmt.Sprintf("condition %q not exported: the pods of a Deployment or StatefulSet are always restarted", rp.Condition))
	} else if rp != nil && (rp.Delay != nil || rp.MaxAttempts != nil || rp.Window != nil) {
		w("deploy.restart_policy", "delay, max_attempts and window are not exported: the kubelet's back-off applies")
	}
	if pl := d.Placement; len(pl.Constraints) > 0 || len(pl.Preferences) > 0 || pl.MaxReplicas > 0 {
		w("deploy.placement", "swarm placement is not exported (use nodeSelector or affinity)")
	}
	if d.EndpointMode != "" && d.EndpointMode != "vip" && d.EndpointMode != "dnsrr" {
		w("deploy.endpoint_mode", fmt.Sprintf("%q not exported", d.EndpointMode))
	}
}

// networkOptions warns about per-network options other than aliases.
func (x *exporter) networkOptions(s types.ServiceConfig, w warnFn) {
	for _, net := range sortedKeys(s.Networks) {
		n := s.Networks[net]
		if n == nil {
			continue
		}
		var opts []string
		if n.Ipv4Address != "" || n.Ipv6Address != "" || len(n.LinkLocalIPs) > 0 {
			opts = append(opts, "fixed addresses")
		}
		if n.MacAddress != "" {
			opts = append(opts, "mac_address")
		}
		if n.Priority != 0 || n.GatewayPriority != 0 {
			opts = append(opts, "priorities")
		}
		if len(n.DriverOpts) > 0 || n.InterfaceName != "" {
			opts = append(opts, "driver options")
		}
		if !n.ServiceNameAliasEnabled() {
			opts = append(opts, "use_service_name_alias: false")
		}
		if len(opts) > 0 {
			w("networks", fmt.Sprintf("%s on network %q not exported: pods get their addresses from the cluster", strings.Join(opts, ", "), net))
		}
	}
}

// userLabels puts compose labels on meta: as labels when Kubernetes takes
// them as labels, else as annotations (values with spaces, rules...).
func (x *exporter) userLabels(l types.Labels, meta *metav1.ObjectMeta, w warnFn, key string) {
	for _, k := range sortedKeys(l) {
		v := l[k]
		if _, ours := meta.Labels[k]; ours {
			continue
		}
		switch {
		case validLabel(k, v):
			if meta.Labels == nil {
				meta.Labels = map[string]string{}
			}
			meta.Labels[k] = v
		case validAnnotationKey(k):
			if meta.Annotations == nil {
				meta.Annotations = map[string]string{}
			}
			meta.Annotations[k] = v
		default:
			w(key, fmt.Sprintf("%q is not a valid Kubernetes label or annotation key: not exported", k))
		}
	}
}

// initContainers: a wait per service_healthy dependency, then the
// pre_start hooks.
func (x *exporter) initContainers(s types.ServiceConfig, name string, replicas int32, pb *podBuilder, w warnFn) ([]corev1.Container, error) {
	var out []corev1.Container
	for _, dep := range sortedKeys(s.DependsOn) {
		d := s.DependsOn[dep]
		if d.Restart {
			w("depends_on", fmt.Sprintf("restart: true (on %q) not exported: Kubernetes does not restart dependents", dep))
		}
		ds, ok := x.p.Services[dep]
		if !ok {
			continue // not required, and not in the project
		}
		switch d.Condition {
		case types.ServiceConditionHealthy:
			if c, ok := x.waitFor(ds, w); ok {
				out = append(out, c)
			}
		case types.ServiceConditionCompletedSuccessfully:
			w("depends_on", fmt.Sprintf("condition service_completed_successfully (on %q) not exported: pods start without waiting (make %q an init container or a Job)", dep, dep))
		}
	}
	for i, h := range s.PreStart {
		spec := h.ContainerSpec
		if spec.Image == "" {
			spec.Image = x.image(types.ServiceConfig{Name: s.Name, ContainerSpec: types.ContainerSpec{Image: s.Image}}, func(string, string) {})
		}
		c, err := x.container(dns1123Label(fmt.Sprintf("pre-start-%d", i)), spec, pb, w)
		if err != nil {
			return nil, err
		}
		c.Resources = corev1.ResourceRequirements{}
		out = append(out, c)
		if !h.PerReplica && replicas > 1 {
			w("pre_start", "hooks run in every pod (once per replica), as init containers")
		}
	}
	return out, nil
}

// waitFor is the init container that waits until dep is healthy: its
// Service then has a Ready pod, so a connection to its first TCP port
// succeeds (for a headless Service: its name resolves).
func (x *exporter) waitFor(dep types.ServiceConfig, w warnFn) (corev1.Container, bool) {
	if hc := dep.HealthCheck; hc == nil || hc.Disable || (len(hc.Test) > 0 && hc.Test[0] == "NONE") {
		w("depends_on", fmt.Sprintf("condition service_healthy on %q, which has no healthcheck: pods start without waiting", dep.Name))
		return corev1.Container{}, false
	}
	target := x.svcNames[dep.Name]
	ports := servicePorts(dep, func(string, string) {})
	headless := len(ports) == 0 || (dep.Deploy != nil && dep.Deploy.EndpointMode == "dnsrr")
	var script string
	if i := slices.IndexFunc(ports, func(p port) bool { return p.Protocol == corev1.ProtocolTCP }); i >= 0 {
		script = fmt.Sprintf("until nc -z -w 2 %s %d; do echo waiting for %s; sleep 2; done", target, ports[i].Port, target)
	} else if headless {
		// busybox's nslookup ignores the search domains: the first one
		// is <namespace>.svc.<cluster domain>.
		script = fmt.Sprintf(`d=$(sed -n 's/^search \([^ ]*\).*/\1/p' /etc/resolv.conf); until nslookup %s.$d; do echo waiting for %s; sleep 2; done`, target, target)
	} else {
		w("depends_on", fmt.Sprintf("condition service_healthy on %q, which serves no TCP port: pods start without waiting", dep.Name))
		return corev1.Container{}, false
	}
	return corev1.Container{
		Name:    dns1123Label("wait-for-" + target),
		Image:   WaitImage,
		Command: []string{"sh", "-c", escape(script)},
	}, true
}

func mergeMaps(a map[string]string, b map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	maps.Copy(a, b)
	return a
}

func ptr[T any](v T) *T { return &v }
