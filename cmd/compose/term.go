package main

import (
	"errors"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/composer-dev/compose/errdefs"
)

// errCannotWriteTerminal: binary archives are not written to a terminal, as with docker save.
var errCannotWriteTerminal = errdefs.Mark(errdefs.ErrInvalidArgument, errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect"))

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
