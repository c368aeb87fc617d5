package project

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/docker/cli/pkg/kvfile"
)

// rawFormat is `env_file: [{path: ..., format: raw}]`: values are taken
// literally (no quotes, escapes or interpolation), with the parser of
// `docker run --env-file`, as Docker Compose registers it
// (cmd/compose/compose.go rawEnv). compose-go knows only the .env format.
const rawFormat = "raw"

var registerRaw sync.Once

// registerEnvFileFormats teaches compose-go the formats Docker Compose adds;
// done on first load rather than at init, so re-executions of the binary
// (supervisors) pay nothing for it.
func registerEnvFileFormats() {
	registerRaw.Do(func() { dotenv.RegisterFormat(rawFormat, rawEnvFile) })
}

// rawEnvFile reads KEY=VALUE lines literally; a line with a name only
// takes the variable from the environment (or is skipped when unset).
func rawEnvFile(r io.Reader, filename string, vars map[string]string, lookup func(string) (string, bool)) error {
	lines, err := kvfile.ParseFromReader(r, lookup)
	if err != nil {
		return fmt.Errorf("failed to parse env_file %s: %w", filename, err)
	}
	for _, line := range lines {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	return nil
}
