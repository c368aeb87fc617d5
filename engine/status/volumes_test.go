package status

import (
	"bytes"
	"testing"

	"github.com/composer-dev/compose/volumes"
)

// `docker compose volumes` prints with the docker CLI's volume formatter
// (cmd/compose/volumes.go: formatter.NewVolumeFormat, VolumeWrite): the
// table "table {{.Driver}}\t{{.Name}}" under DRIVER and VOLUME NAME,
// names alone with -q, one JSON object per volume with its fields.
func TestPrintVolumes(t *testing.T) {
	vols := []*volumes.Volume{
		{Name: "p_data", Driver: "local", Scope: "local", Mountpoint: "/v/p_data/_data", Labels: map[string]string{"b": "2", "a": "1"}},
		{Name: "p_cache", Driver: "local", Scope: "local"},
	}
	for _, tc := range []struct {
		format string
		quiet  bool
		want   string
	}{
		{"table", false, "DRIVER    VOLUME NAME\nlocal     p_data\nlocal     p_cache\n"},
		{"table", true, "p_data\np_cache\n"},
		{"{{.Name}} {{.Labels}}", false, "p_data a=1,b=2\np_cache \n"},
		{"json", false, `{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"a=1,b=2","Links":"N/A","Mountpoint":"/v/p_data/_data","Name":"p_data","Scope":"local","Size":"N/A","Status":"N/A"}` + "\n" +
			`{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"N/A","Mountpoint":"","Name":"p_cache","Scope":"local","Size":"N/A","Status":"N/A"}` + "\n"},
	} {
		var buf bytes.Buffer
		if err := PrintVolumes(&buf, vols, tc.format, tc.quiet); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("format %q quiet %v:\n%q\nwant\n%q", tc.format, tc.quiet, buf.String(), tc.want)
		}
	}
}
