package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/composer-dev/compose/engine/container"
)

// stdinIsTerminal is how Compose decides to allocate a tty by default.
func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// rawTerminal puts stdin's terminal in raw mode (keys such as Ctrl-C go to
// the container, not to us) and follows its size. restore undoes both.
func rawTerminal() (size container.WindowSize, resize <-chan container.WindowSize, restore func()) {
	fd := int(os.Stdin.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return size, nil, func() {}
	}
	size = windowSize(fd)
	ch := make(chan container.WindowSize, 1)
	ch <- size // the first size, for consumers that only read the channel
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				select {
				case ch <- windowSize(fd):
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return size, ch, func() {
		signal.Stop(winch)
		close(done)
		_ = term.Restore(fd, old)
	}
}

func windowSize(fd int) container.WindowSize {
	w, h, err := term.GetSize(fd)
	if err != nil {
		return container.WindowSize{}
	}
	return container.WindowSize{Rows: uint16(h), Cols: uint16(w)}
}
