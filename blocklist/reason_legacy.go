package blocklist

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Records and blocklist.changed events written before reason codes
// existed carry only the English text the policy wrote. LegacyReason reads
// those texts back into their code and parameters, so that a page can say
// an old block in its reader's language as it does a new one.
//
// It is strict on purpose: a text is taken only if writing the code and
// parameters it found with the policy's own format of the time gives back
// exactly the text read. Anything else, an admin's typed reason above
// all, is not ours and stays as stored. The one text it cannot tell apart
// is an admin typing the policy's words to the letter ("blocked by
// admin"), which then reads as what it says.

// legacyFixed are the texts the policy wrote with no parameters; they
// have not changed since the first release.
var legacyFixed = map[string]string{
	"lifted: verdict genuine": CodeLiftGenuine,
	"blocked by admin":        CodeAdminBlock,
	"removed by admin":        CodeAdminRemove,
}

// legacyAutoBlock is the shape of an automatic block's reason, in both
// forms the policy wrote: durations as time.Duration.String ("24h0m0s")
// before HumanDuration, and as HumanDuration ("24 h") since.
var legacyAutoBlock = regexp.MustCompile(`^([0-9]+) strikes within ([^()]+) \(([^()]+)\); block ([0-9]+) for ([^()]+)$`)

// strikeKinds are the strike reasons summarise can name.
var strikeKinds = []string{ReasonNoInput, ReasonAbandoned, ReasonInvalid, ReasonVerdictPrank}

// LegacyReason returns the code and parameters of text if text is a reason
// the policy itself wrote before codes were stored, and false otherwise.
func LegacyReason(text string) (code string, args map[string]string, ok bool) {
	if c, found := legacyFixed[text]; found {
		return c, nil, true
	}
	m := legacyAutoBlock.FindStringSubmatch(text)
	if m == nil {
		return "", nil, false
	}
	strikes, err1 := strconv.Atoi(m[1])
	level, err2 := strconv.Atoi(m[4])
	if err1 != nil || err2 != nil {
		return "", nil, false
	}
	// Both durations are in the same form: the policy changed the two at
	// once.
	window, human, ok1 := legacyDuration(m[2])
	length, human2, ok2 := legacyDuration(m[5])
	if !ok1 || !ok2 || human != human2 || window <= 0 || length <= 0 {
		return "", nil, false
	}
	args = map[string]string{
		ArgStrikes: strconv.Itoa(strikes),
		ArgWindow:  window.String(),
		ArgLevel:   strconv.Itoa(level),
		ArgLength:  length.String(),
	}
	var kinds []string
	for _, part := range strings.Split(m[3], ", ") {
		kind, count, found := strings.Cut(part, " x")
		n, err := strconv.Atoi(count)
		if !found || err != nil || n < 1 || !slices.Contains(strikeKinds, kind) {
			return "", nil, false
		}
		if _, twice := args[ArgCountPrefix+kind]; twice {
			return "", nil, false
		}
		args[ArgCountPrefix+kind] = strconv.Itoa(n)
		kinds = append(kinds, kind)
	}
	// Written back the way the policy wrote it (summarise sorts the
	// kinds), the text must come out the same, to the byte.
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + " x" + args[ArgCountPrefix+k]
	}
	form := time.Duration.String
	if human {
		form = HumanDuration
	}
	again := fmt.Sprintf("%d strikes within %s (%s); block %d for %s", strikes, form(window), strings.Join(parts, ", "), level, form(length))
	if again != text {
		return "", nil, false
	}
	return CodeAutoBlock, args, true
}

// legacyDuration reads a duration in either of the forms the policy wrote
// and says which (human: HumanDuration's, else time.Duration.String's); a
// text that its form does not write back the same is refused.
func legacyDuration(s string) (d time.Duration, human bool, ok bool) {
	if !strings.Contains(s, " ") {
		d, err := time.ParseDuration(s)
		if err != nil || d.String() != s {
			return 0, false, false
		}
		return d, false, true
	}
	units := map[string]time.Duration{"day": 24 * time.Hour, "days": 24 * time.Hour, "h": time.Hour, "min": time.Minute, "s": time.Second}
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return 0, false, false
	}
	for i := 0; i < len(f); i += 2 {
		n, err := strconv.Atoi(f[i])
		u, known := units[f[i+1]]
		if err != nil || !known || n < 0 || n > 100000 {
			return 0, false, false
		}
		d += time.Duration(n) * u
	}
	if HumanDuration(d) != s {
		return 0, false, false
	}
	return d, true, true
}
