package engine

import (
	"fmt"
	"os"
	"time"
)

var traceStart = time.Now()

func trace(what string) {
	if os.Getenv("COMPOSE_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "%6.1fms %s\n", float64(time.Since(traceStart).Microseconds())/1000, what)
	}
}
