package project

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func service() types.ServiceConfig {
	one := "1"
	replicas := 2
	s := types.ServiceConfig{Name: "web", Restart: "always"}
	s.Image = "nginx"
	s.Environment = types.MappingWithEquals{"A": &one}
	s.Networks = map[string]*types.ServiceNetworkConfig{"default": nil}
	s.Command = types.ShellCommand{"a", "b"}
	s.Deploy = &types.DeployConfig{Replicas: &replicas}
	return s
}

func TestConfigHashGolden(t *testing.T) {
	s := service()
	s.Deploy = nil
	// Top-level keys in Compose's pinned order: restart comes after networks,
	// not first as compose-go's struct layout would put it.
	want := `{"command":["a","b"],"entrypoint":null,"environment":{"A":"1"},"image":"nginx","networks":{"default":null},"restart":"always"}`
	sum := sha256.Sum256([]byte(want))
	got, err := ConfigHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if got != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s, want sha256(%s)", got, want)
	}
}

func TestConfigHash(t *testing.T) {
	base, err := ConfigHash(service())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(s *types.ServiceConfig)
		changes bool
	}{
		{name: "identical", mutate: func(s *types.ServiceConfig) {}},
		{name: "image", mutate: func(s *types.ServiceConfig) { s.Image = "nginx:2" }, changes: true},
		{name: "environment", mutate: func(s *types.ServiceConfig) { v := "2"; s.Environment["A"] = &v }, changes: true},
		{name: "ports", mutate: func(s *types.ServiceConfig) { s.Ports = []types.ServicePortConfig{{Target: 80}} }, changes: true},
		{name: "restart", mutate: func(s *types.ServiceConfig) { s.Restart = "no" }, changes: true},
		{name: "build ignored", mutate: func(s *types.ServiceConfig) { s.Build = &types.BuildConfig{Context: "."} }},
		{name: "pull_policy ignored", mutate: func(s *types.ServiceConfig) { s.PullPolicy = "always" }},
		{name: "scale ignored", mutate: func(s *types.ServiceConfig) { n := 3; s.Scale = &n }},
		{name: "replicas ignored", mutate: func(s *types.ServiceConfig) { n := 5; s.Deploy.Replicas = &n }},
		{name: "depends_on ignored", mutate: func(s *types.ServiceConfig) {
			s.DependsOn = types.DependsOnConfig{"db": {Condition: "service_started"}}
		}},
		{name: "profiles ignored", mutate: func(s *types.ServiceConfig) { s.Profiles = []string{"x"} }},
		{name: "command", mutate: func(s *types.ServiceConfig) { s.Command = types.ShellCommand{"a", "c"} }, changes: true},
		{name: "labels", mutate: func(s *types.ServiceConfig) { s.Labels = types.Labels{"x": "y"} }, changes: true},
		{name: "volumes", mutate: func(s *types.ServiceConfig) {
			s.Volumes = []types.ServiceVolumeConfig{{Type: "volume", Target: "/data"}}
		}, changes: true},
		{name: "healthcheck", mutate: func(s *types.ServiceConfig) {
			s.HealthCheck = &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}}
		}, changes: true},
		{name: "networks", mutate: func(s *types.ServiceConfig) {
			s.Networks = map[string]*types.ServiceNetworkConfig{"back": nil}
		}, changes: true},
		{name: "depends_on restart flag ignored", mutate: func(s *types.ServiceConfig) {
			s.DependsOn = types.DependsOnConfig{"db": {Condition: "service_healthy", Restart: true, Required: true}}
		}},
		{name: "replicas without deploy ignored", mutate: func(s *types.ServiceConfig) { n := 4; s.Scale = &n; s.Deploy.Replicas = nil }},
		{name: "deploy resources", mutate: func(s *types.ServiceConfig) {
			s.Deploy.Resources.Limits = &types.Resource{MemoryBytes: 1 << 20}
		}, changes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := service()
			tt.mutate(&s)
			got, err := ConfigHash(s)
			if err != nil {
				t.Fatal(err)
			}
			if (got != base) != tt.changes {
				t.Errorf("hash changed=%v, want %v", got != base, tt.changes)
			}
			again, _ := ConfigHash(s)
			if again != got {
				t.Error("hash not stable")
			}
		})
	}
}

func TestConfigHashDoesNotMutate(t *testing.T) {
	s := service()
	if _, err := ConfigHash(s); err != nil {
		t.Fatal(err)
	}
	if s.Deploy.Replicas == nil || *s.Deploy.Replicas != 2 {
		t.Error("ConfigHash changed the caller's deploy.replicas")
	}
}
