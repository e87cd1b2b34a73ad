package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/internal/logging"
	"github.com/spf13/cobra"
)

// app is what every sub-command shares: the output streams, and the
// configuration and logger, which are loaded once, on first use, from the
// root's persistent flags.
//
// A command that needs them calls a.load(cmd) at the start of its RunE and
// returns its error unchanged, so that a bad configuration exits with code 2.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// search is the config file search list; nil means
	// configs.DefaultSearch(). Tests set it empty so that files on the
	// machine cannot leak in.
	search []string
	// runDir is where a demo leaves its NATS URL for the admin commands;
	// "" means $XDG_RUNTIME_DIR or the temporary directory (demoURLFile).
	// Tests set their own.
	runDir string

	loaded bool
	file   string // config file read, "" when none
	cfg    configs.Config
	log    *slog.Logger
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdin: os.Stdin, stdout: stdout, stderr: stderr}
}

// load returns the effective configuration and a logger built from it,
// writing to stderr, and logs the configuration's warnings.
func (a *app) load(cmd *cobra.Command) (configs.Config, *slog.Logger, error) {
	return a.loadConfig(cmd, true)
}

// loadQuiet is load without the warnings, for the commands that replace
// part of the configuration before they run it (demo, loadtest): they call
// warnSettings on what they actually run.
func (a *app) loadQuiet(cmd *cobra.Command) (configs.Config, *slog.Logger, error) {
	return a.loadConfig(cmd, false)
}

// loadAdminConfig is loadQuiet for the admin commands (blocklist, verdict,
// user), which read no config file from the working directory unless it
// is named with --config (configs.AdminSearch).
func (a *app) loadAdminConfig(cmd *cobra.Command) (configs.Config, *slog.Logger, error) {
	if a.search == nil {
		a.search = configs.AdminSearch()
	}
	return a.loadConfig(cmd, false)
}

func (a *app) loadConfig(cmd *cobra.Command, warn bool) (configs.Config, *slog.Logger, error) {
	if a.loaded {
		return a.cfg, a.log, nil
	}
	// cmd.Flags() holds the command's own flags merged with the root's
	// persistent ones once cobra has parsed the command line.
	flags := cmd.Flags()
	file, err := flags.GetString("config")
	if err != nil {
		return configs.Config{}, nil, err
	}
	opts := configs.LoadOptions{File: file, Search: a.search, Flags: flags}
	used, err := configs.ResolveFile(opts)
	if err != nil {
		return configs.Config{}, nil, err
	}
	cfg, err := configs.Load(opts)
	if err != nil {
		return configs.Config{}, nil, err
	}
	// Validate has already accepted level and format, so this cannot fail
	// unless the two lists drift apart; report it rather than hide it.
	log, err := logging.New(a.stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return configs.Config{}, nil, err
	}
	log.Debug("configuration loaded", "file", used)
	// Every command that loads the configuration, config check included,
	// reports risky settings once, on stderr, away from any YAML on stdout.
	if warn {
		warnSettings(log, cfg)
	}
	a.loaded, a.file, a.cfg, a.log = true, used, cfg, log
	return cfg, log, nil
}

// warnSettings logs cfg's risky settings, except those whose key starts
// with one of skip: a command that replaces part of the configuration
// (demo and loadtest put a simulated Asterisk in place of ari.nodes) says
// nothing about the part it does not use.
func warnSettings(log *slog.Logger, cfg configs.Config, skip ...string) {
next:
	for _, w := range cfg.Warnings() {
		for _, prefix := range skip {
			if strings.HasPrefix(w.Key, prefix) {
				continue next
			}
		}
		log.Warn(w.Error())
	}
}
