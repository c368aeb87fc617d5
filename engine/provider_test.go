package engine

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/composer-dev/compose/errdefs"
)

func providerService() types.ServiceConfig {
	return types.ServiceConfig{Name: "db", Provider: &types.ServiceProviderConfig{Type: "cloud",
		Options: types.MultiOptions{"size": {"1"}, "region": {"eu", "us"}}}}
}

// Docker Compose runs `<program> compose --project-name=P up --k=v... SERVICE`,
// passing only the options the command's metadata lists when there is
// metadata, and refusing a missing required one (pkg/compose/plugins.go
// setupPluginCommand, CheckRequiredParameters).
func TestProviderArgs(t *testing.T) {
	p := &types.Project{Name: "proj"}
	svc := providerService()
	args, run, err := providerArgs(p, svc, "up", providerMetadata{})
	want := []string{"compose", "--project-name=proj", "up", "--region=eu", "--region=us", "--size=1", "db"}
	if err != nil || !run || !reflect.DeepEqual(args, want) {
		t.Fatalf("no metadata: %q %v %v", args, run, err)
	}
	var meta providerMetadata
	meta.Description = "x"
	meta.Up.Parameters = append(meta.Up.Parameters, struct {
		Name     string `json:"name"`
		Required bool   `json:"required"`
	}{Name: "size", Required: true})
	args, _, err = providerArgs(p, svc, "up", meta)
	if want := []string{"compose", "--project-name=proj", "up", "--size=1", "db"}; err != nil || !reflect.DeepEqual(args, want) {
		t.Errorf("metadata filters options: %q %v", args, err)
	}
	if _, run, err := providerArgs(p, svc, "stop", meta); run || err != nil {
		t.Errorf("stop without stop metadata must not run: %v %v", run, err)
	}
	delete(svc.Provider.Options, "size")
	if _, _, err := providerArgs(p, svc, "up", meta); !errors.Is(err, errdefs.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), `required parameter "size" is missing from provider "cloud" definition`) {
		t.Errorf("missing required parameter: %v", err)
	}
}

// The provider's JSON lines: info is progress, setenv/rawsetenv are kept,
// get-service-config is answered on stdin, error fails with its message.
func TestReadProvider(t *testing.T) {
	out := strings.Join([]string{
		`{"type":"info","message":"provisioning\nmore"}`,
		`{"type":"setenv","message":"URL=db:5432"}`,
		`{"type":"rawsetenv","message":"TOKEN=a=b"}`,
		`{"type":"get-service-config"}`,
		`{"type":"debug","message":"x"}`,
	}, "\n")
	var stdin bytes.Buffer
	vars := providerVars{prefixed: map[string]string{}, raw: map[string]string{}}
	var infos []string
	err := readProvider(strings.NewReader(out), &stdin, providerService(), &vars, func(s string) { infos = append(infos, s) })
	if err != nil {
		t.Fatal(err)
	}
	if vars.prefixed["URL"] != "db:5432" || vars.raw["TOKEN"] != "a=b" || !reflect.DeepEqual(infos, []string{"provisioning"}) {
		t.Errorf("vars %v infos %q", vars, infos)
	}
	if !strings.Contains(stdin.String(), `"provider":{"type":"cloud"`) {
		t.Errorf("service config sent: %q", stdin.String())
	}
	err = readProvider(strings.NewReader(`{"type":"error","message":"quota exceeded"}`), io.Discard, providerService(), &vars, func(string) {})
	if err == nil || err.Error() != "quota exceeded" {
		t.Errorf("error message: %v", err)
	}
	err = readProvider(strings.NewReader(`{"type":"bogus"}`), io.Discard, providerService(), &vars, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "invalid response from plugin: bogus") {
		t.Errorf("unknown type: %v", err)
	}
}

// setenv variables reach the services that depend on the provider as
// <SERVICE>_KEY; rawsetenv ones as they are (pkg/compose/plugins.go runPlugin).
func TestProviderEnv(t *testing.T) {
	p := &types.Project{Services: types.Services{
		"db":    providerService(),
		"app":   {Name: "app", WorkloadSpec: types.WorkloadSpec{DependsOn: types.DependsOnConfig{"db": {}}}},
		"other": {Name: "other"},
	}}
	e := &Engine{err: io.Discard}
	got := e.providerEnv(p, p.Services["db"], providerVars{prefixed: map[string]string{"URL": "u"}, raw: map[string]string{"TOKEN": "t"}})
	if len(got) != 1 || *got["app"]["DB_URL"] != "u" || *got["app"]["TOKEN"] != "t" {
		t.Errorf("provider env %v", got)
	}
}
