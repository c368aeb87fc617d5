package project

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// serviceKeys is the order of a service's keys in `docker compose config`:
// the field order of compose-go's ServiceConfig before it was split into
// ContainerSpec and WorkloadSpec, which Docker Compose's output follows
// (the corpus in testdata is its output). Keys this list lacks keep their
// place after the known ones.
var serviceKeys = []string{
	"name", "profiles", "annotations", "attach", "build", "develop", "blkio_config",
	"cap_add", "cap_drop", "cgroup_parent", "cgroup", "cpu_count", "cpu_percent",
	"cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset",
	"cpu_shares", "command", "configs", "container_name", "credential_spec",
	"depends_on", "deploy", "device_cgroup_rules", "devices", "dns", "dns_opt",
	"dns_search", "dockerfile", "domainname", "entrypoint", "provider",
	"environment", "env_file", "expose", "extends", "external_links",
	"extra_hosts", "group_add", "gpus", "hostname", "healthcheck", "image",
	"init", "ipc", "isolation", "labels", "label_file", "links", "logging",
	"log_driver", "log_opt", "mem_limit", "mem_reservation", "memswap_limit",
	"mem_swappiness", "mac_address", "models", "net", "network_mode",
	"networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
	"platform", "ports", "privileged", "pull_policy", "pull_refresh_after",
	"read_only", "restart", "runtime", "scale", "secrets", "security_opt",
	"shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt",
	"sysctls", "tmpfs", "tty", "ulimits", "umask", "use_api_socket", "user",
	"userns_mode", "uts", "volume_driver", "volumes", "volumes_from",
	"working_dir", "pre_start", "post_start", "pre_stop",
}

// orderServices puts the keys of every service (and job) of a marshalled
// project document in serviceKeys' order; x- extensions stay last.
func orderServices(doc *yaml.Node) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	for _, section := range []string{"services", "jobs"} {
		services := mappingValue(root, section)
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 1; i < len(services.Content); i += 2 {
			sortKeys(services.Content[i], serviceKeys)
		}
	}
}

// sortKeys sorts a mapping's key/value pairs by their rank in order,
// stably: unknown keys after the known ones, extensions (x-) last.
func sortKeys(m *yaml.Node, order []string) {
	if m.Kind != yaml.MappingNode {
		return
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return rank(order, a.k.Value) - rank(order, b.k.Value) })
	for i, p := range pairs {
		m.Content[2*i], m.Content[2*i+1] = p.k, p.v
	}
}

// rank is key's place in order: unknown keys after the known ones,
// extensions (x-) last.
func rank(order []string, key string) int {
	if i := slices.Index(order, key); i >= 0 {
		return i
	}
	if strings.HasPrefix(key, "x-") {
		return len(order) + 1
	}
	return len(order)
}

func keyRank(key string) int { return rank(serviceKeys, key) }

// mappingValue is the value of key in mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// orderJSONServices rewrites the services of compose-go's JSON document in
// serviceKeys' order, indented as Docker Compose prints it
// (json.MarshalIndent, two spaces; top-level and map keys sorted).
func orderJSONServices(raw []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	for _, section := range []string{"services", "jobs"} {
		var services map[string]json.RawMessage
		if top[section] == nil || json.Unmarshal(top[section], &services) != nil {
			continue
		}
		ordered := make(map[string]object, len(services))
		for name, svc := range services {
			o, err := decodeObject(svc)
			if err != nil {
				return nil, err
			}
			slices.SortStableFunc(o, func(a, b member) int { return keyRank(a.key) - keyRank(b.key) })
			ordered[name] = o
		}
		b, err := json.Marshal(ordered)
		if err != nil {
			return nil, err
		}
		top[section] = b
	}
	return json.MarshalIndent(top, "", "  ")
}

// object is a JSON object that keeps its members' order.
type object []member

type member struct {
	key   string
	value json.RawMessage
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// decodeObject reads a JSON object's members in their order.
func decodeObject(raw json.RawMessage) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var o object
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, member{key: t.(string), value: v})
	}
	return o, nil
}
