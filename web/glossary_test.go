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
		for w, use := range avoid {
			re := regexp.MustCompile(`(?i)(^|[^\pL])` + regexp.QuoteMeta(w) + `($|[^\pL])`)
			if re.MatchString(msg) {
				bad = append(bad, key+": "+w+" → "+use+" ("+msg+")")
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
