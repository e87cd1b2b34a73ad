// Package console keeps the console's accounts: the accounts file (named
// accounts with a role and a bcrypt password hash), the rules for names,
// roles and passwords, and hashing. It has no HTTP side: the sign-in,
// sessions and pages that use the accounts live in web/, and the
// `siaga112 user` command edits the file through this package without
// building a web server.
package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// Roles of an account.
const (
	// RoleOperator gives verdicts and ticks call-backs.
	RoleOperator = "operator"
	// RoleSupervisor also blocks and lifts blocks, sees whole numbers and
	// exports.
	RoleSupervisor = "supervisor"
)

// bcryptCost is the work factor of stored hashes: about 0.2 s per sign-in
// on this project's 2-core reference machine, cheap for a person and dear
// for a password guesser who stole the file.
const bcryptCost = 12

// MinPassword is the shortest password accepted.
const MinPassword = 10

// maxAccountsFile bounds the accounts file read at start-up.
const maxAccountsFile = 1 << 20

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

// Account is one person who may sign in.
type Account struct {
	Name string `yaml:"name"`
	Role string `yaml:"role"`
	// Hash is the bcrypt hash of the password; the password is never stored.
	Hash string `yaml:"password_hash"`
}

// Accounts is the list read from the accounts file.
type Accounts struct {
	list []Account
}

// Errors of account handling.
var (
	ErrBadName     = errors.New("console: a name is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter")
	ErrBadRole     = errors.New("console: role must be operator or supervisor")
	ErrWeak        = fmt.Errorf("console: a password needs at least %d characters", MinPassword)
	ErrNoAccount   = errors.New("console: no such account")
	ErrAccountFile = errors.New("console: accounts file")
)

// CheckName validates an account name.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w (got %q)", ErrBadName, name)
	}
	return nil
}

// CheckRole validates a role.
func CheckRole(role string) error {
	if role != RoleOperator && role != RoleSupervisor {
		return fmt.Errorf("%w (got %q)", ErrBadRole, role)
	}
	return nil
}

// HashPassword returns the bcrypt hash of a password that is long enough.
func HashPassword(password string) (string, error) {
	if len([]rune(password)) < MinPassword {
		return "", ErrWeak
	}
	if len(password) > 72 {
		// bcrypt reads 72 bytes; refuse rather than silently ignore the rest.
		return "", errors.New("console: a password may have at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("console: hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the name is unknown, so a sign-in
// takes as long for a name that does not exist as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("siaga112-no-such-account"), bcryptCost)

// Check returns the account when name and password match.
func (a *Accounts) Check(name, password string) (Account, bool) {
	acc, ok := a.Find(name)
	hash := dummyHash
	if ok {
		hash = []byte(acc.Hash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return Account{}, false
	}
	return acc, true
}

// Find returns the account called name.
func (a *Accounts) Find(name string) (Account, bool) {
	if a == nil {
		return Account{}, false
	}
	i := slices.IndexFunc(a.list, func(x Account) bool { return x.Name == name })
	if i < 0 {
		return Account{}, false
	}
	return a.list[i], true
}

// List returns the accounts sorted by name.
func (a *Accounts) List() []Account {
	if a == nil {
		return nil
	}
	out := slices.Clone(a.list)
	slices.SortFunc(out, func(x, y Account) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Len is the number of accounts.
func (a *Accounts) Len() int {
	if a == nil {
		return 0
	}
	return len(a.list)
}

// Set adds or replaces an account.
func (a *Accounts) Set(acc Account) error {
	if err := CheckName(acc.Name); err != nil {
		return err
	}
	if err := CheckRole(acc.Role); err != nil {
		return err
	}
	if _, err := bcrypt.Cost([]byte(acc.Hash)); err != nil {
		return fmt.Errorf("console: account %s: password_hash is not a bcrypt hash", acc.Name)
	}
	if i := slices.IndexFunc(a.list, func(x Account) bool { return x.Name == acc.Name }); i >= 0 {
		a.list[i] = acc
		return nil
	}
	a.list = append(a.list, acc)
	return nil
}

// Remove deletes an account.
func (a *Accounts) Remove(name string) error {
	i := slices.IndexFunc(a.list, func(x Account) bool { return x.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: %s", ErrNoAccount, name)
	}
	a.list = slices.Delete(a.list, i, i+1)
	return nil
}

// LoadAccounts reads the accounts file. A file that does not exist is an
// empty list (nobody can sign in yet); one that others may read, or that
// holds a bad entry, is an error naming the entry.
func LoadAccounts(path string) (*Accounts, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Accounts{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrAccountFile, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w %s: not a regular file", ErrAccountFile, path)
	}
	if st.Size() > maxAccountsFile {
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrAccountFile, path, maxAccountsFile)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w %s: others may read it (mode %o); run: chmod 600 %s", ErrAccountFile, path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrAccountFile, path, err)
	}
	var doc struct {
		Accounts []Account `yaml:"accounts"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w %s: %v", ErrAccountFile, path, err)
	}
	a := &Accounts{}
	for i, acc := range doc.Accounts {
		if slices.ContainsFunc(a.list, func(x Account) bool { return x.Name == acc.Name }) {
			return nil, fmt.Errorf("%w %s: accounts[%d]: %s is listed twice", ErrAccountFile, path, i, acc.Name)
		}
		if err := a.Set(acc); err != nil {
			return nil, fmt.Errorf("%w %s: accounts[%d]: %v", ErrAccountFile, path, i, err)
		}
	}
	return a, nil
}

// Save writes the accounts file atomically with mode 0600.
func (a *Accounts) Save(path string) error {
	doc := struct {
		Accounts []Account `yaml:"accounts"`
	}{a.List()}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	b = append([]byte("# siaga112 console accounts: edit with `siaga112 user add|passwd|rm`.\n# Passwords are stored as bcrypt hashes only.\n"), b...)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("%w %s: %v", ErrAccountFile, path, err)
	}
	tmp, err := os.CreateTemp(dir, ".accounts-*")
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrAccountFile, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
