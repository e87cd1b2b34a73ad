// Command ariapigen writes the ARI description that arisim's conformance test
// checks against (ari/arisim/testdata/ari22-api.json) from Asterisk 22's api-docs.
//
// It is run by `go generate ./ari/arisim`; only the project's developers need it,
// since the output is committed. Usage:
//
//	go run ./ari/arisim/internal/ariapigen [-spec DIR] [-out FILE]
//
// -spec defaults to ../shared/asterisk-ari-22 beside the repository root (found
// from the working directory); without -out the description goes to stdout.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/siaga112/siaga112/ari/arisim/internal/ariapi"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ariapigen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ariapigen", flag.ContinueOnError)
	spec := fs.String("spec", "", "directory holding Asterisk 22's api-docs *.json (default "+ariapi.DefaultSpecDir+" from the repository root)")
	out := fs.String("out", "", "file to write the description to (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *spec == "" {
		root, err := ariapi.RepoRoot(".")
		if err != nil {
			return err
		}
		*spec = filepath.Join(root, ariapi.DefaultSpecDir)
	}
	d, err := ariapi.FromSwagger(*spec)
	if err != nil {
		return err
	}
	data, err := d.Marshal()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}
