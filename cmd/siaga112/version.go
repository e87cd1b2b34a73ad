package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at link time: go build -ldflags "-X main.version=v1.0.0 -X main.commit=abc123".
// They are read only by versionInfo.
var (
	version string
	commit  string
)

// buildInfo says which build is running.
type buildInfo struct {
	Version, Commit, Time, Go string
	Modified                  bool
}

// versionInfo prefers the values set by the linker and falls back to what
// the Go toolchain recorded (module version, VCS revision) in the binary.
func versionInfo(ldVersion, ldCommit string) buildInfo {
	b := buildInfo{Version: ldVersion, Commit: ldCommit}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.Go = info.GoVersion
		if b.Version == "" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	s := fmt.Sprintf("siaga112 %s (commit %s", b.Version, b.Commit)
	if b.Modified {
		s += ", modified"
	}
	if b.Time != "" {
		s += ", " + b.Time
	}
	if b.Go != "" {
		s += ", " + b.Go
	}
	return s + ")"
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, versionInfo(version, commit))
			return err
		},
	}
}
