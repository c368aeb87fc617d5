package export

import (
	"reflect"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// translated are the service keys export translates (warning itself about
// the parts of them it cannot); ignored are those with nothing to export:
// the loader has already applied them.
var (
	translated = setOf(
		"annotations", "cap_add", "cap_drop", "command", "configs", "cpus", "dns", "dns_opt", "dns_search",
		"domainname", "entrypoint", "environment", "extra_hosts", "group_add", "hostname", "image", "init",
		"ipc", "labels", "mem_limit", "mem_reservation", "network_mode", "networks", "pid", "pids_limit",
		"platform", "privileged", "pull_policy", "read_only", "secrets", "security_opt", "shm_size",
		"stop_grace_period", "stop_signal", "sysctls", "tmpfs", "user", "volumes", "working_dir",
		"build", "depends_on", "expose", "healthcheck", "ports", "stdin_open", "tty",
		"deploy", "restart", "scale", "links", "pre_start", "post_start", "pre_stop",
	)
	ignored = setOf("name", "profiles", "env_file", "label_file", "extends")
)

// reasons say why a key has no Kubernetes meaning, where there is more to
// say than that.
var reasons = map[string]string{
	"container_name":      "not exported: Kubernetes names the pods (the Service keeps the service's name)",
	"develop":             "not exported: compose watch syncs to local containers",
	"logging":             "not exported: the cluster's logging applies (kubectl logs)",
	"log_driver":          "not exported: the cluster's logging applies (kubectl logs)",
	"log_opt":             "not exported: the cluster's logging applies (kubectl logs)",
	"ulimits":             "not exported: Kubernetes sets no per-container ulimits (the node's container runtime does)",
	"devices":             "not exported: devices are given by device plugins in Kubernetes",
	"gpus":                "not exported: GPUs are resources of device plugins (e.g. nvidia.com/gpu)",
	"external_links":      "not exported: reach other namespaces by <service>.<namespace>",
	"attach":              "not exported: use kubectl logs",
	"mac_address":         "not exported: pods get their addresses from the cluster",
	"volumes_from":        "not exported: containers that share volumes are containers of one pod",
	"cpu_shares":          "not exported: Kubernetes derives CPU shares from the CPU request",
	"cpu_quota":           "not exported: use cpus or deploy.resources.limits.cpus",
	"cpu_period":          "not exported: use cpus or deploy.resources.limits.cpus",
	"cpuset":              "not exported: CPU pinning is the kubelet's CPU manager's",
	"mem_swappiness":      "not exported: swap is the node's setting",
	"memswap_limit":       "not exported: swap is the node's setting",
	"oom_score_adj":       "not exported: the kubelet sets it from the pod's QoS class",
	"use_api_socket":      "not exported: there is no Docker API socket in the cluster",
	"provider":            "not exported: a provider service is run by compose itself",
	"models":              "not exported: models are run by Docker Model Runner",
	"userns_mode":         "not exported (Kubernetes: hostUsers: false, where the nodes support it)",
	"pull_refresh_after":  "not exported: Kubernetes pull policies are Always, IfNotPresent or Never",
	"blkio_config":        "not exported: block I/O limits are the node's",
	"credential_spec":     "not exported: Windows containers' credential specs are set by Kubernetes' windowsOptions",
	"cgroup":              "not exported: each pod has its own cgroup namespace",
	"cgroup_parent":       "not exported: the kubelet places pods in cgroups",
	"runtime":             "not exported: use a RuntimeClass",
	"isolation":           "not exported: Windows isolation is a RuntimeClass's",
	"storage_opt":         "not exported: container storage is the node's",
	"volume_driver":       "not exported: claims get the cluster's default storage class",
	"device_cgroup_rules": "not exported: devices are given by device plugins in Kubernetes",
}

// unsupported warns about every key s sets that export neither translates
// nor ignores: a key added to compose-go later is reported too, never
// dropped silently.
func (x *exporter) unsupported(object string, s types.ServiceConfig) {
	for _, key := range setKeys(reflect.ValueOf(s)) {
		if translated[key] || ignored[key] {
			continue
		}
		msg, ok := reasons[key]
		if !ok {
			msg = "has no Kubernetes equivalent: not exported"
		}
		x.warn(object, key, msg)
	}
}

// setKeys lists the yaml keys of the fields of struct v that are set (not
// their zero value), inline structs flattened, extensions (x-*) left out.
func setKeys(v reflect.Value) []string {
	var keys []string
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case !f.IsExported() || tag == "-" || strings.HasPrefix(name, "#"):
		case strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct:
			keys = append(keys, setKeys(v.Field(i))...)
		case name != "" && !v.Field(i).IsZero():
			keys = append(keys, name)
		}
	}
	return keys
}

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
