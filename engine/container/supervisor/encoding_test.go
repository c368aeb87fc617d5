package supervisor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fill sets every field of the value v points to, recursively, to
// something non-zero, so that an encoder that forgets a field fails the
// comparison with encoding/json.
func fill(t *testing.T, v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(1700000000+seed), int64(seed)).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), seed+i+1)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), seed+i)
		}
		v.Set(s)
	case reflect.String:
		v.SetString("s<\"\n\\é" + strings.Repeat("x", seed%5))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(seed*1000 + 7))
	case reflect.Uint64:
		v.SetUint(uint64(seed*1000 + 9))
	default:
		t.Fatalf("fill: add %s", v.Kind())
	}
}

// readBack decodes data with encoding/json into a new T.
func readBack[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("encoding/json cannot read %s: %v", data, err)
	}
	return v
}

func TestEncodeStateAgreesWithEncodingJSON(t *testing.T) {
	var full State
	fill(t, reflect.ValueOf(&full).Elem(), 1)
	for _, st := range []State{{}, {Status: StatusRunning, Pid: 3}, full, {Health: &Health{Status: HealthStarting}}} {
		got := readBack[State](t, encodeState(st))
		want := readBack[State](t, must(json.Marshal(st)))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("encodeState:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestEncodeReadyAgreesWithEncodingJSON(t *testing.T) {
	var full Ready
	fill(t, reflect.ValueOf(&full).Elem(), 1)
	for _, m := range []Ready{{}, full} {
		if got, want := string(encodeReady(m)), string(must(json.Marshal(m))); got != want {
			t.Errorf("encodeReady = %s, want %s", got, want)
		}
	}
}

func TestReadCreateReportReadsEncodingJSON(t *testing.T) {
	var full CreateReport
	fill(t, reflect.ValueOf(&full).Elem(), 1)
	for _, rep := range []CreateReport{{}, {Pid: 42}, full} {
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(rep)
		got, err := readCreateReport(&b)
		if err != nil || !reflect.DeepEqual(got, rep) {
			t.Errorf("readCreateReport = %+v, %v; want %+v", got, err, rep)
		}
	}
	if _, err := readCreateReport(strings.NewReader(`{"Pid":1`)); err == nil {
		t.Error("a report cut short (create died) was accepted")
	}
}

// TestReadConfigReadsEncodingJSON: the supervisor reads the spec the full
// binary writes; spec.json holds much more than config, all of it ignored.
func TestReadConfigReadsEncodingJSON(t *testing.T) {
	var full config
	fill(t, reflect.ValueOf(&full).Elem(), 1)
	for _, c := range []config{{ID: "x", Exe: "/bin/compose"}, full} {
		doc := map[string]any{"Env": []string{"A=1"}, "Labels": map[string]string{"a": "b"}, "Mounts": nil}
		for k, v := range readBack[map[string]any](t, must(json.Marshal(c))) {
			doc[k] = v
		}
		path := filepath.Join(t.TempDir(), SpecFile)
		if err := os.WriteFile(path, must(json.MarshalIndent(doc, "", "  ")), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readConfig(path)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("readConfig = %+v, %v\nwant %+v", got, err, c)
		}
	}
	bad := filepath.Join(t.TempDir(), SpecFile)
	_ = os.WriteFile(bad, []byte(`{"ID":`), 0o600)
	if _, err := readConfig(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a corrupt spec: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
