package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/siaga112/siaga112/events"
)

// browserFor starts a headless Chromium for the test, or skips it where
// none is installed (CI installs one: .ci/run).
func browserFor(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			t.Skip("no Chromium installed: the console's browser test needs it (apt-get install -y chromium)")
		}
		path = p
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	bctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelT)
	return bctx
}

// A supervisor, in a real browser and in Indonesian: signs in (after a
// wrong password is refused), sees a dropped help call under "needs
// attention" and ticks it, marks a prankster's call prank from its
// history and sees the block, lifts it.
func TestConsoleInBrowser(t *testing.T) {
	w := startConsoleWorld(t)
	ctx := browserFor(t)
	const prankster = "+6281277770000"
	w.call("c-b-prank", prankster, events.OutcomeNoInput, false)
	w.call("c-b-help", "+6281277771111", events.OutcomeSilentHelp, true)

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	// click presses a button through the DOM, as a person's click does.
	click := func(sel string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const b = document.querySelector(%q); if (!b) return false; b.click(); return true })()`, sel)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil || !ok {
			t.Fatalf("click %s: found %v, %v", sel, ok, err)
		}
	}
	// waitURL polls until the tab's address holds want (a form's answer
	// has loaded).
	waitURL := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
			if err == nil && strings.Contains(u, want) {
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`)); err == nil {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the address never held %q (%s)", what, want, u)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// waitText polls the page until its text holds want.
	waitText := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			if err == nil && strings.Contains(page, want) {
				return
			}
			if time.Now().After(deadline) {
				html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML + " @ " + location.href`))
				t.Fatalf("%s: the page never showed %q: %.500s\n%s", what, want, page, html[max(0, len(html)-3000):])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	signIn := func(pw string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(w.base+"/login?lang=id"),
			chromedp.SetValue(chromedp.CSS("#name"), supName),
			chromedp.SetValue(chromedp.CSS("#password"), pw),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitReady(chromedp.CSS("body")),
		)
		if err != nil {
			t.Fatalf("sign in: %v", err)
		}
	}
	signIn("not the password")
	if got := text("p.error"); !strings.Contains(got, "salah") {
		t.Fatalf("wrong password: error %q, want the Indonesian refusal", got)
	}
	signIn(supPass)

	// The board, signed in: the dropped help call needs attention.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"/?lang=id")); err != nil {
			t.Fatal(err)
		}
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.Index(html, `data-testid="attention"`); i >= 0 && strings.Contains(html[i:], `data-call-id="c-b-help"`) {
			if !strings.Contains(html, "Perlu perhatian") || !strings.Contains(html, "Masuk sebagai "+supName) {
				t.Fatalf("board not in Indonesian or not signed in")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the board never listed the dropped help call under needs attention")
		}
		time.Sleep(100 * time.Millisecond)
	}
	click(`[data-testid="attention"] tr[data-call-id="c-b-help"] form[action$="/handled"] button`)
	waitURL("tick", "notice=")
	deadline = time.Now().Add(15 * time.Second)
	for {
		if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"/?lang=id")); err != nil {
			t.Fatal(err)
		}
		gone, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid=attention]') !== null && document.querySelector('[data-testid=attention] tr[data-call-id="c-b-help"]') === null`))
		if err == nil && gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ticked call stayed under needs attention")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The prankster's history: mark the call prank, see the block.
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"/numbers/"+prankster+"?lang=id"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("history: %v", err)
	}
	if page := text("body"); !strings.Contains(page, "c-b-prank") {
		t.Fatalf("history page without the call: %.600s", page)
	}
	click(`tr[data-call="c-b-prank"] button.prank`)
	// The verdict is asked first, naming the number and the block.
	waitText("prank verdict asked", "akan diblokir 1 jam")
	click("#confirm-yes")
	// Saved, the page says so and offers the undo for a while.
	waitText("prank verdict", "tersimpan")
	waitText("prank verdict's undo", "Urungkan")
	marked := time.Now()
	for {
		if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"/numbers/"+prankster+"?lang=id"), chromedp.WaitReady(chromedp.CSS("#state"))); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text("#state"), "Diblokir sampai") {
			break
		}
		if time.Since(marked) > 10*time.Second {
			t.Fatalf("no block shown after the prank verdict: %q", text("#state"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("block shown %s after the verdict", time.Since(marked).Round(time.Millisecond))
	click("#lift")
	waitText("lift asked", "langsung dicabut")
	click("#confirm-yes")
	waitURL("lift", "notice=")
	waitText("lift", "dicabut")
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"/numbers/"+prankster+"?lang=id")); err != nil {
		t.Fatal(err)
	}
	waitText("state after the lift", "Tidak diblokir")
	if w.blocked(prankster) {
		t.Error("the store still holds the block")
	}
}
