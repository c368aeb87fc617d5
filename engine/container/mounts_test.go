package container

import (
	"slices"
	"testing"
)

func TestOCIMount(t *testing.T) {
	bind := ociMount(Mount{Source: "/src", Destination: "/dst", ReadOnly: true, Propagation: "rslave"})
	if bind.Type != "bind" || bind.Source != "/src" || !slices.Equal(bind.Options, []string{"rbind", "rslave", "ro"}) {
		t.Errorf("bind = %+v", bind)
	}
	def := ociMount(Mount{Source: "/src", Destination: "/dst"})
	if !slices.Equal(def.Options, []string{"rbind", "rprivate"}) {
		t.Errorf("default bind = %+v", def)
	}
	tmp := ociMount(Mount{Type: "tmpfs", Destination: "/t", Options: []string{"size=1024", "mode=1777"}})
	if tmp.Type != "tmpfs" || tmp.Source != "tmpfs" || !slices.Equal(tmp.Options, []string{"nosuid", "nodev", "size=1024", "mode=1777"}) {
		t.Errorf("tmpfs = %+v", tmp)
	}
	for _, tt := range []struct {
		props []string
		want  string
	}{
		{nil, ""}, {[]string{"rprivate"}, ""}, {[]string{"slave"}, "rslave"},
		{[]string{"rslave", "shared"}, "rshared"},
	} {
		var ms []Mount
		for _, p := range tt.props {
			ms = append(ms, Mount{Propagation: p})
		}
		if got := rootPropagation(ms); got != tt.want {
			t.Errorf("rootPropagation(%v) = %q, want %q", tt.props, got, tt.want)
		}
	}
}
