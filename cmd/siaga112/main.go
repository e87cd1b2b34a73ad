// Command siaga112 is the one binary of siaga112, an emergency-line (112)
// IVR for Asterisk over ARI with events on NATS JetStream. This package is
// wiring only: each sub-command lives in its own file and builds its
// components from the loaded configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // reports.time_zone must resolve on hosts without a zoneinfo database

	"github.com/siaga112/siaga112/configs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(exitCode(err))
}

// run executes the command line args; it returns instead of exiting so that
// deferred clean-up in commands runs and tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(newApp(stdout, stderr))
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// exitCode is 2 for a configuration that cannot be used, 1 for any other
// failure and 0 for success.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, configs.ErrInvalid), errors.Is(err, configs.ErrFile):
		return 2
	default:
		return 1
	}
}
