package diagram

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSVGInBrowser opens a coloured picture in headless Chromium (Debian's
// chromium, which scripts/deps.sh installs) and checks its screenshot: a
// PNG of the window's size, with the state colours of the legend in it.
// In CI (CI set) a missing chromium fails the test instead of skipping it.
func TestSVGInBrowser(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is missing (scripts/deps.sh installs it): %v", err)
		}
		t.Skipf("chromium is missing (scripts/deps.sh installs it): %v", err)
	}
	d := newCase(t, "shop", nil, shopStates)
	dir := t.TempDir()
	svg, shot := filepath.Join(dir, "shop.svg"), filepath.Join(dir, "shop.png")
	if err := os.WriteFile(svg, d.SVG(), 0o644); err != nil {
		t.Fatal(err)
	}
	const width, height = 1200, 900
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot,
		fmt.Sprintf("--window-size=%d,%d", width, height), "file://"+svg)
	// Its own home and temp dir (both removed with dir), its own process
	// group: a timeout ends chromium's helpers too.
	cmd.Env = append(os.Environ(), "HOME="+dir, "TMPDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}

	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\nchromium said:\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Fatalf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), width, height)
	}

	counts := map[uint32]int{} // pixels by 0xRRGGBB
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[r>>8<<16|g>>8<<8|bl>>8]++
		}
	}
	if len(counts) < 10 {
		t.Errorf("screenshot has %d colours: blank?", len(counts))
	}
	for _, c := range d.legend() {
		if c.fill == "#ffffff" {
			continue // the background's colour proves nothing
		}
		if n := near(counts, c.fill); n < 400 { // a box is thousands; stray anti-aliased pixels a few dozen
			t.Errorf("state %q: %d pixels of its colour %s in the screenshot, want a box of them", c.key, n, c.fill)
		}
	}
}

// near counts the pixels within 3 of colour hex ("#rrggbb") on each channel.
func near(counts map[uint32]int, hex string) int {
	v, _ := strconv.ParseUint(hex[1:], 16, 32)
	want := [3]int{int(v >> 16), int(v >> 8 & 0xff), int(v & 0xff)}
	n := 0
	for c, k := range counts {
		got := [3]int{int(c >> 16), int(c >> 8 & 0xff), int(c & 0xff)}
		if abs(got[0]-want[0]) <= 3 && abs(got[1]-want[1]) <= 3 && abs(got[2]-want[2]) <= 3 {
			n += k
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
