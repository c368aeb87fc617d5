package status

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
)

// The reports of the image and network commands, printed as the docker CLI
// prints them.

// ImageListRow is one line of `image ls`: an image under one of its names.
type ImageListRow struct {
	Repository, Tag, ID string
	Created             time.Time
	Size                int64
}

// PrintImageList prints `image ls` (IDs only with quiet).
func PrintImageList(out io.Writer, rows []ImageListRow, quiet bool, now time.Time) error {
	if quiet {
		for _, r := range rows {
			fmt.Fprintln(out, ShortID(r.ID))
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	for _, r := range rows {
		created := units.HumanDuration(now.Sub(r.Created)) + " ago"
		size := units.HumanSizeWithPrecision(float64(r.Size), 3)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, ShortID(r.ID), created, size)
	}
	return tw.Flush()
}

// PrintLoaded prints what `image load` loaded: "Loaded image: NAME", or
// "Loaded image ID: sha256:..." for an image without a name.
func PrintLoaded(out io.Writer, names []string) {
	for _, n := range names {
		if strings.HasPrefix(n, "sha256:") {
			fmt.Fprintf(out, "Loaded image ID: %s\n", n)
			continue
		}
		fmt.Fprintf(out, "Loaded image: %s\n", n)
	}
}

// ImageRemoval is what `image rm` did: names untagged, images deleted.
type ImageRemoval struct {
	Untagged, Deleted []string
}

// PrintImageRemoval prints "Untagged: NAME" and "Deleted: ID" lines.
func PrintImageRemoval(out io.Writer, r ImageRemoval) {
	for _, u := range r.Untagged {
		fmt.Fprintf(out, "Untagged: %s\n", u)
	}
	for _, d := range r.Deleted {
		fmt.Fprintf(out, "Deleted: %s\n", d)
	}
}

// PrintImagePrune prints `image prune`'s report.
func PrintImagePrune(out io.Writer, deleted []string, reclaimed int64) {
	if len(deleted) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
		for _, d := range deleted {
			fmt.Fprintf(out, "deleted: %s\n", d)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSizeWithPrecision(float64(reclaimed), 3))
}

// PrintNetworkPrune prints `network prune`'s report.
func PrintNetworkPrune(out io.Writer, removed []string) {
	if len(removed) == 0 {
		return
	}
	fmt.Fprintln(out, "Deleted Networks:")
	for _, n := range removed {
		fmt.Fprintln(out, n)
	}
}

// PrintInspect prints inspect documents as the docker CLI does: one JSON
// array, indented by four spaces.
func PrintInspect(out io.Writer, docs any) error {
	b, err := json.MarshalIndent(docs, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// Confirm asks question on out and reports whether the answer read from
// in is yes, as the docker CLI's prompts do ("[y/N]": no by default).
func Confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question+" [y/N] ")
	answer, _ := bufio.NewReader(in).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}
