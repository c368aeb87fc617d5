package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/composer-dev/compose/errdefs"
)

// checkMenu decides `up`'s navigation menu as Docker Compose does (--menu,
// else COMPOSE_MENU, else on; only for an attached up on a terminal) and
// refuses it where Docker would show it: its shortcuts drive Docker
// Desktop, which is not here. COMPOSE_MENU=false or --menu=false turn it off.
func checkMenu(f *pflag.FlagSet, menu, detached bool) error {
	if detached || !term.IsTerminal(int(os.Stdout.Fd())) {
		return nil
	}
	on := true
	switch {
	case f.Changed("menu"):
		on = menu
	default:
		if v, ok := os.LookupEnv("COMPOSE_MENU"); ok {
			on = envBool("COMPOSE_MENU") && v != ""
		} else {
			return nil // Docker's default, shown only to whoever asks for it here
		}
	}
	if !on {
		return nil
	}
	return fmt.Errorf("--menu (COMPOSE_MENU): the navigation menu is not supported, its shortcuts drive Docker Desktop; use --menu=false or COMPOSE_MENU=false: %w", errdefs.ErrInvalidArgument)
}
