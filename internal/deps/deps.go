// Package deps keeps modules that packages under construction will import.
package deps

import (
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/term"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-containerregistry/pkg/v1/random"
)
