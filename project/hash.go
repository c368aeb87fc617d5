package project

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
)

// ConfigHash is the value of the com.docker.compose.config-hash label: the
// SHA-256 of the service's JSON form without the attributes that do not
// require recreating a container (build, pull policy, scale, dependencies,
// profiles).
func ConfigHash(s types.ServiceConfig) (string, error) {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		d := *s.Deploy // copy: never edit the caller's service
		d.Replicas = nil
		s.Deploy = &d
	}
	s.DependsOn = nil
	s.Profiles = nil
	raw, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	raw, err = orderKeys(raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// hashKeyOrder is the top-level key order Docker Compose hashes with: the
// field order of compose-go's ServiceConfig before it was split into embedded
// structs. Compose pins it so hashes survive compose-go refactorings; keys not
// listed follow in sorted order.
var hashKeyOrder = []string{
	"profiles", "annotations", "attach", "build", "develop", "blkio_config",
	"cap_add", "cap_drop", "cgroup_parent", "cgroup", "cpu_count", "cpu_percent",
	"cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpus",
	"cpuset", "cpu_shares", "command", "configs", "container_name",
	"credential_spec", "depends_on", "deploy", "device_cgroup_rules", "devices",
	"dns", "dns_opt", "dns_search", "dockerfile", "domainname", "entrypoint",
	"provider", "environment", "env_file", "expose", "extends", "external_links",
	"extra_hosts", "group_add", "gpus", "hostname", "healthcheck", "image",
	"init", "ipc", "isolation", "labels", "label_file", "links", "logging",
	"log_driver", "log_opt", "mem_limit", "mem_reservation", "memswap_limit",
	"mem_swappiness", "mac_address", "models", "net", "network_mode", "networks",
	"oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports",
	"privileged", "pull_policy", "read_only", "restart", "runtime", "scale",
	"secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
	"stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits",
	"use_api_socket", "user", "userns_mode", "uts", "volume_driver", "volumes",
	"volumes_from", "working_dir", "pre_start", "post_start", "pre_stop",
}

// orderKeys re-emits a JSON object with its top-level keys in hashKeyOrder,
// values kept byte for byte.
func orderKeys(raw []byte) ([]byte, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(root))
	for _, k := range hashKeyOrder {
		if _, ok := root[k]; ok {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range root {
		if !slices.Contains(hashKeyOrder, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)

	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(root[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
