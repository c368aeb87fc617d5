package status

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/composer-dev/compose/volumes"
)

// VolumeRow is a volume as `compose volumes` shows it: the fields of the
// docker CLI's volume formatter (cli/command/formatter/volume.go), which
// Docker Compose prints its volumes with; what this engine does not track
// (usage, cluster volumes) is "N/A" as there.
type VolumeRow struct {
	Availability string
	Driver       string
	Group        string
	Labels       string
	Links        string
	Mountpoint   string
	Name         string
	Scope        string
	Size         string
	Status       string
}

// volumeLayout is `docker volume ls`'s table: DRIVER and VOLUME NAME.
var volumeLayout = Layout{
	Table:    "table {{.Driver}}\t{{.Name}}",
	MinWidth: 10,
	Header: VolumeRow{
		Availability: "AVAILABILITY", Driver: "DRIVER", Group: "GROUP", Labels: "LABELS", Links: "LINKS",
		Mountpoint: "MOUNTPOINT", Name: "VOLUME NAME", Scope: "SCOPE", Size: "SIZE", Status: "STATUS",
	},
}

// PrintVolumes writes vols as `compose volumes` does: names alone with
// quiet, else format ("table", "json" or a template).
func PrintVolumes(out io.Writer, vols []*volumes.Volume, format string, quiet bool) error {
	if quiet {
		for _, v := range vols {
			fmt.Fprintln(out, v.Name)
		}
		return nil
	}
	f, err := ParseFormat(format, volumeLayout)
	if err != nil {
		return err
	}
	rows := make([]VolumeRow, len(vols))
	for i, v := range vols {
		rows[i] = volumeRow(v)
	}
	return Write(out, f, rows, nil)
}

func volumeRow(v *volumes.Volume) VolumeRow {
	labels := make([]string, 0, len(v.Labels))
	for k, val := range v.Labels {
		labels = append(labels, k+"="+val)
	}
	sort.Strings(labels)
	return VolumeRow{
		Availability: "N/A", Driver: v.Driver, Group: "N/A", Labels: strings.Join(labels, ","), Links: "N/A",
		Mountpoint: v.Mountpoint, Name: v.Name, Scope: v.Scope, Size: "N/A", Status: "N/A",
	}
}
