package web

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// glossaryAvoid reads docs/glossary.md's table: for each meaning, the
// Indonesian words that must not be used for it.
func glossaryAvoid(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("../docs/glossary.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	avoid := map[string]string{} // word -> the term to use
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| meaning") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("glossary row %q: want 4 cells", line)
		}
		use := strings.TrimSpace(cells[1])
		for _, w := range strings.Split(cells[3], ";") {
			if w = strings.TrimSpace(w); w != "" {
				avoid[w] = use
			}
		}
	}
	if len(avoid) < 10 {
		t.Fatalf("glossary: only %d words to avoid read", len(avoid))
	}
	return avoid
}

// TestCatalogueFollowsTheGlossary: no Indonesian message uses a word the
// glossary says not to use for its meaning.
func TestCatalogueFollowsTheGlossary(t *testing.T) {
	avoid := glossaryAvoid(t)
	var bad []string
	for key, msg := range catalogueID {
		bad = append(bad, glossaryBreaches(avoid, key, msg)...)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// TestPromptsFollowTheGlossary: what a caller hears uses the same words as
// the pages (the prompts' Indonesian texts, from which the WAV files are
// made, one "key|text" per line).
func TestPromptsFollowTheGlossary(t *testing.T) {
	avoid := glossaryAvoid(t)
	f, err := os.Open("../asterisk-conf/sounds/prompts.id.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, msg, ok := strings.Cut(sc.Text(), "|")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		n++
		for _, b := range glossaryBreaches(avoid, key, msg) {
			t.Error(b)
		}
	}
	if n < 10 {
		t.Fatalf("only %d prompts read", n)
	}
}

// glossaryBreaches lists the words of msg the glossary rules out, each
// with the term to use instead.
func glossaryBreaches(avoid map[string]string, key, msg string) []string {
	var bad []string
	for w, use := range avoid {
		re := regexp.MustCompile(`(?i)(^|[^\pL])` + regexp.QuoteMeta(w) + `($|[^\pL])`)
		if re.MatchString(msg) {
			bad = append(bad, key+": "+w+" → "+use+" ("+msg+")")
		}
	}
	return bad
}
