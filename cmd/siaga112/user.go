package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/siaga112/siaga112/console"
)

// newUserCmd is `siaga112 user add|passwd|rm|ls`: the console's accounts.
func newUserCmd(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the console's accounts (supervisors and operators)",
		Long: `user edits the accounts file (http.accounts_file, mode 0600) that the dashboard's
console signs people in with. Only bcrypt hashes of the passwords are stored.
Roles: operator (verdicts, call-back ticks) and supervisor (also blocks, lifts,
whole numbers and exports). A running serve reads the file when it starts.

The password is read from the terminal without echo (asked twice), or as one
line from standard input when that is not a terminal.`,
		Example: `  siaga112 user add siti --role supervisor
  siaga112 user add budi --role operator
  printf '%s\n' "$PASSWORD" | siaga112 user passwd budi
  siaga112 user ls`,
	}
	cmd.PersistentFlags().StringVar(&file, "accounts", "", "accounts file (default http.accounts_file)")
	path := func(c *cobra.Command) (string, error) {
		if file != "" {
			return file, nil
		}
		cfg, _, err := a.loadAdminConfig(c)
		if err != nil {
			return "", err
		}
		return cfg.HTTP.AccountsFile, nil
	}
	var role string
	var replace bool
	add := &cobra.Command{
		Use:   "add NAME --role operator|supervisor",
		Short: "Add an account (--replace: replace the role and password of an existing one)",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%s needs one NAME, e.g. %s siti --role supervisor", c.CommandPath(), c.CommandPath())
			}
			if err := console.CheckName(args[0]); err != nil {
				return err
			}
			return console.CheckRole(role)
		},
		RunE: func(c *cobra.Command, args []string) error {
			p, err := path(c)
			if err != nil {
				return err
			}
			return a.setAccount(p, args[0], role, true, replace)
		},
	}
	add.Flags().StringVar(&role, "role", "", "operator or supervisor (required)")
	add.Flags().BoolVar(&replace, "replace", false, "replace the role and password of an account that exists")
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a new password (applies without a restart)",
		Args:  oneName,
		RunE: func(c *cobra.Command, args []string) error {
			p, err := path(c)
			if err != nil {
				return err
			}
			return a.setAccount(p, args[0], "", false, true)
		},
	}
	rm := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"remove"},
		Short:   "Remove an account",
		Args:    oneName,
		RunE: func(c *cobra.Command, args []string) error {
			p, err := path(c)
			if err != nil {
				return err
			}
			accs, err := console.LoadAccounts(p)
			if err != nil {
				return err
			}
			if err := accs.Remove(args[0]); err != nil {
				return err
			}
			if err := accs.Save(p); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "removed %s from %s; %s\n", args[0], p, appliesLive)
			return err
		},
	}
	var asJSON bool
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the accounts (names and roles)",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := path(c)
			if err != nil {
				return err
			}
			accs, err := console.LoadAccounts(p)
			if err != nil {
				return err
			}
			type row struct {
				Name string `json:"name"`
				Role string `json:"role"`
			}
			rows := []row{}
			for _, acc := range accs.List() {
				rows = append(rows, row{acc.Name, acc.Role})
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(a.stdout, "no accounts in %s; add one with: siaga112 user add NAME --role supervisor\n", p)
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\n", r.Name, r.Role)
			}
			return tw.Flush()
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(add, passwd, rm, ls)
	return cmd
}

func oneName(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs one NAME", c.CommandPath())
	}
	return console.CheckName(args[0])
}

// setAccount asks for a password and writes the account. create allows a
// new account (add); passwd needs an existing one and keeps its role.
// setAccount adds (create) or changes an account. An existing account is
// only changed with replace: a second `user add` for a name already taken
// (a colleague with the same first name) must not silently take over that
// person's password and role.
func (a *app) setAccount(path, name, role string, create, replace bool) error {
	accs, err := console.LoadAccounts(path)
	if err != nil {
		return err
	}
	old, exists := accs.Find(name)
	if !create && !exists {
		return fmt.Errorf("%w: %s (add it with: siaga112 user add %s --role operator)", console.ErrNoAccount, name, name)
	}
	if create && exists && !replace {
		return fmt.Errorf("account %s exists (%s); nothing changed: choose another name, change its password with `siaga112 user passwd %s`, or replace it with `siaga112 user add %s --role %s --replace`",
			name, old.Role, name, name, cmp.Or(role, old.Role))
	}
	if role == "" {
		role = old.Role
	}
	pw, err := a.readPassword(name)
	if err != nil {
		return err
	}
	hash, err := console.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := accs.Set(console.Account{Name: name, Role: role, Hash: hash}); err != nil {
		return err
	}
	if err := accs.Save(path); err != nil {
		return err
	}
	verb := "added"
	if exists {
		verb = "updated"
	}
	_, err = fmt.Fprintf(a.stdout, "%s %s (%s) in %s; %s\n", verb, name, role, path, appliesLive)
	return err
}

// appliesLive ends the message of a change to the accounts file: a running
// serve reads the file again when it changes, so no restart is needed.
const appliesLive = "applies without a restart"

// readPassword reads a password: twice without echo from a terminal, or one
// line from a pipe.
func (a *app) readPassword(name string) (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(a.stderr, "password for %s (at least %d characters): ", name, console.MinPassword)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(a.stderr, "again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the two passwords differ; nothing was changed")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(io.LimitReader(a.stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe one line, or run in a terminal)")
	}
	return line, nil
}
