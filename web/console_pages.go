package web

// pagesTemplate holds the console's pages. Every word a person reads comes
// from the catalogue (t LANG KEY); the pages work without JavaScript.
const pagesTemplate = `
{{define "head"}}<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f0;color:#111;font-size:20px}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:32px;margin:0 0 16px}
h2{font-size:26px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #ccc;padding:8px;text-align:left;vertical-align:top}
th{background:#e8e8e2}
label{display:block;margin:12px 0 4px}
input[type=text],input[type=password]{font-size:20px;padding:8px;width:100%;max-width:420px;box-sizing:border-box}
button{font-size:18px;padding:6px 14px;margin:2px;cursor:pointer;border:2px solid #333;background:#fff;border-radius:4px}
button.prank{border-color:#b35900}
button.genuine{border-color:#005a9c}
.error{background:#fde2e0;border-left:6px solid #a00;padding:12px;margin:12px 0}
.notice{background:#e2f2e6;border-left:6px solid #096;padding:12px;margin:12px 0}
.who{float:right;font-size:18px}
.who form{display:inline}
.callback{font-weight:bold;text-decoration:underline}
form.inline{display:inline}
@media print{.noprint,form,button{display:none}body{background:#fff}}
@media (max-width:600px){table{font-size:16px}th,td{padding:4px}}
</style></head><body><main>
{{if .Session}}<div class="who noprint">{{t .Lang "signed.as" .Session.Name (t .Lang (print "role." .Session.Role))}}
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{.Session.CSRF}}"><button type="submit">{{t .Lang "logout"}}</button></form></div>{{end}}
{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<h1>{{t .Lang "login.heading"}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .NoUsers}}<p class="notice">{{t .Lang "login.none"}}</p>{{end}}
<form method="post" action="/login?lang={{.Lang}}">
<input type="hidden" name="next" value="{{.Next}}">
<label for="name">{{t .Lang "login.name"}}</label><input type="text" id="name" name="name" value="{{.Name}}" autocomplete="username" required autofocus maxlength="32">
<label for="password">{{t .Lang "login.password"}}</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<p><button type="submit">{{t .Lang "login.submit"}}</button></p>
</form>
<p><a href="/">{{t .Lang "back"}}</a></p>
{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Notice}}<p class="notice">{{.Notice}}</p>{{end}}
{{if .Session}}<p><a href="{{.Next}}">{{t .Lang "back"}}</a></p>{{else}}<p><a href="/login?next={{.Next}}">{{t .Lang "login.submit"}}</a></p>{{end}}
{{template "foot" .}}{{end}}

{{define "incident"}}{{template "head" .}}{{with .Incident}}
<h1>{{t .Lang "incident.heading"}}</h1>
{{if $.Notice}}<p class="notice" role="status">{{$.Notice}}</p>{{end}}
<p class="noprint"><a href="/">{{t .Lang "back"}}</a></p>
<p>{{t .Lang "incident.help"}}</p>
{{if .Active}}<p id="incident-state" class="notice">{{t .Lang "incident.active" .Title .Started .Expires .By .Media}}</p>
{{if .Supervisor}}<form method="post" action="/console/incident/stop"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="back" value="/console/incident?lang={{.Lang}}"><button type="submit" id="incident-stop">{{t .Lang "incident.stop"}}</button></form>{{end}}
{{else}}<p id="incident-state">{{t .Lang "incident.none"}}</p>{{end}}
{{if .Supervisor}}<h2>{{t .Lang "incident.start"}}</h2>
{{if .Error}}<p class="error" role="alert" id="incident-error">{{.Error}}</p>{{end}}
<form method="post" action="/console/incident/start"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="back" value="/console/incident?lang={{.Lang}}">
<label for="title">{{t .Lang "incident.name"}}</label><input type="text" id="title" name="title" value="{{.Form.Title}}" required maxlength="{{.MaxTitle}}">
<label for="media">{{t .Lang "incident.media"}}</label><select id="media" name="media" style="font-size:20px">{{range .Prompts}}<option value="{{.Media}}"{{if eq .Media $.Incident.Form.Media}} selected{{end}}>{{.Name}}</option>{{end}}</select>
<label for="for">{{t .Lang "incident.for"}}</label><input type="text" id="for" name="for" value="{{.Form.For}}" maxlength="16">
<p><button type="submit" id="incident-start">{{t .Lang "incident.start"}}</button></p></form>
<p class="noprint">{{t .Lang "incident.byphone"}}</p>{{end}}
{{end}}{{template "foot" .}}{{end}}

{{define "callbacks"}}{{template "head" .}}{{with .Callbacks}}
<h1>{{t .Lang "cb.heading"}}</h1>
{{if $.Notice}}<p class="notice" role="status">{{$.Notice}}</p>{{end}}
<p class="noprint"><a href="/?lang={{.Lang}}">{{t .Lang "back"}}</a></p>
<p id="callback-state" class="{{if not .Known}}error{{else if .On}}notice{{else}}error{{end}}">{{if .Known}}{{t .Lang "cb.state" (t .Lang (print "cb." (onOff .On)))}}{{else}}{{t .Lang "cb.state" (t .Lang "cb.unknown")}}{{end}}</p>
<p>{{t .Lang "cb.help"}}</p>
{{if .Supervisor}}{{if .Known}}<form method="post" action="/console/callbacks/switch"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="back" value="/console/callbacks?lang={{.Lang}}"><input type="hidden" name="on" value="{{if .On}}off{{else}}on{{end}}"><button type="submit" id="callback-switch">{{if .On}}{{t .Lang "cb.turn_off"}}{{else}}{{t .Lang "cb.turn_on"}}{{end}}</button></form>{{end}}
{{else}}<p>{{t .Lang "cb.supervisor_only"}}</p>{{end}}
{{end}}{{template "foot" .}}{{end}}

{{define "blocks"}}{{template "head" .}}{{with .Blocks}}
<h1>{{t .Lang "blocks.heading"}}</h1>
{{if $.Notice}}<p class="notice" role="status">{{$.Notice}}</p>{{end}}
<p class="noprint"><a href="/?lang={{.Lang}}">{{t .Lang "back"}}</a></p>
{{if .Rows}}<table id="blocked"><thead><tr><th>{{t .Lang "col.number"}}</th><th>{{t .Lang "col.until"}}</th><th>{{t .Lang "col.level"}}</th><th>{{t .Lang "col.strikes"}}</th><th>{{t .Lang "col.reason"}}</th><th>{{t .Lang "col.by"}}</th>{{if .Supervisor}}<th class="noprint">{{t .Lang "col.actions"}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr data-number="{{.Number}}"><td>{{if $.Blocks.Supervisor}}<a href="/numbers/{{path .Number}}?lang={{$.Lang}}">{{.Shown}}</a>{{else}}{{.Shown}}{{end}}</td><td>{{.Until}}</td><td>{{.Level}}</td><td>{{.Strikes}}</td><td>{{.Reason}}</td><td>{{.By}}</td>
{{if $.Blocks.Supervisor}}<td class="noprint"><form method="post" action="/console/blocks/{{path .Number}}/lift" class="inline"><input type="hidden" name="csrf" value="{{$.Blocks.CSRF}}"><input type="hidden" name="back" value="/console/blocks?lang={{$.Lang}}"><button type="submit">{{t $.Lang "btn.lift"}}</button></form></td>{{end}}</tr>
{{end}}</tbody></table>{{else}}<p>{{t .Lang "blocks.none"}}</p>{{end}}
{{if .Supervisor}}<h2>{{t .Lang "block.heading"}}</h2>
{{if .Error}}<p class="error" role="alert" id="block-error">{{.Error}}</p>{{end}}
<form method="post" action="/console/blocks"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="back" value="/console/blocks?lang={{.Lang}}">
<label for="number">{{t .Lang "col.number"}}</label><input type="text" id="number" name="number" value="{{.Form.Number}}" required maxlength="64" placeholder="0812-3456-7890">
<label for="for">{{t .Lang "block.for"}}</label><input type="text" id="for" name="for" value="{{.Form.For}}" required maxlength="16">
<label for="reason">{{t .Lang "block.reason"}}</label><input type="text" id="reason" name="reason" value="{{.Form.Reason}}" required maxlength="{{.MaxReason}}">
<p><button type="submit" id="block">{{t .Lang "btn.block"}}</button></p></form>{{end}}
{{end}}{{template "foot" .}}{{end}}

{{define "number"}}{{template "head" .}}{{with .History}}
<h1>{{t .Lang "number.heading" .Number}}</h1>
{{if $.Notice}}<p class="notice" role="status">{{$.Notice}}</p>{{end}}
{{if .State}}<p id="state">{{.State}}</p>{{end}}
<p class="noprint"><a href="/">{{t .Lang "back"}}</a>
{{if .Supervisor}} · <a href="/api/numbers/{{path .E164}}?format=csv">{{t .Lang "number.csv"}}</a>{{end}}</p>
{{if .Supervisor}}<div class="noprint">
{{if .Blocked}}<form method="post" action="/console/blocks/{{path .E164}}/lift" class="inline"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="back" value="{{.Back}}"><button type="submit" id="lift">{{t .Lang "btn.lift"}}</button></form>
{{else}}<h2>{{t .Lang "block.heading"}}</h2>
<form method="post" action="/console/blocks"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="back" value="{{.Back}}"><input type="hidden" name="number" value="{{.E164}}">
<label for="for">{{t .Lang "block.for"}}</label><input type="text" id="for" name="for" value="1h" required>
<label for="reason">{{t .Lang "block.reason"}}</label><input type="text" id="reason" name="reason" required maxlength="{{.MaxReason}}">
<p><button type="submit" id="block">{{t .Lang "btn.block"}}</button></p></form>{{end}}
</div>{{end}}
<h2>{{t .Lang "number.calls"}}</h2>
{{if .Calls}}<table id="calls"><thead><tr><th>{{t .Lang "col.time"}}</th><th>{{t .Lang "col.call"}}</th><th>{{t .Lang "col.outcome"}}</th><th>{{t .Lang "col.type"}}</th><th>{{t .Lang "col.queue"}}</th><th>{{t .Lang "col.recording"}}</th><th>{{t .Lang "col.verdict"}}</th><th class="noprint">{{t .Lang "col.actions"}}</th></tr></thead><tbody>
{{range .Calls}}<tr data-call="{{.ID}}"><td>{{.Time}}</td><td><code>{{.ID}}</code></td><td>{{.Outcome}}{{if .Callback}} · <span class="callback">{{t $.Lang "callback"}}</span>{{end}}</td><td>{{.Type}}</td><td>{{.Queue}}</td><td>{{if .Audio}}<audio controls preload="none" src="{{.Audio}}"></audio>{{else}}{{.Recording}}{{end}}</td><td>{{.Verdicts}}</td>
<td class="noprint">
<form method="post" action="/console/calls/{{path .ID}}/verdict" class="inline"><input type="hidden" name="csrf" value="{{$.History.CSRF}}"><input type="hidden" name="back" value="{{$.History.Back}}"><input type="hidden" name="verdict" value="prank"><button type="submit" class="prank">{{t $.Lang "btn.prank"}}</button></form>
<form method="post" action="/console/calls/{{path .ID}}/verdict" class="inline"><input type="hidden" name="csrf" value="{{$.History.CSRF}}"><input type="hidden" name="back" value="{{$.History.Back}}"><input type="hidden" name="verdict" value="genuine"><button type="submit" class="genuine">{{t $.Lang "btn.genuine"}}</button></form>
{{if .Callback}}<form method="post" action="/console/calls/{{path .ID}}/handled" class="inline"><input type="hidden" name="csrf" value="{{$.History.CSRF}}"><input type="hidden" name="back" value="{{$.History.Back}}"><input type="hidden" name="action" value="called_back"><button type="submit">{{t $.Lang "btn.calledback"}}</button></form>{{end}}
</td></tr>
{{end}}</tbody></table>{{else}}<p>{{t .Lang "number.none"}}</p>{{end}}
{{if .Blocks}}<h2>{{t .Lang "number.blocks"}}</h2>
<table id="blocks"><thead><tr><th>{{t .Lang "col.time"}}</th><th>{{t .Lang "col.until"}}</th><th>{{t .Lang "col.strikes"}}</th><th>{{t .Lang "col.reason"}}</th></tr></thead><tbody>
{{range .Blocks}}<tr><td>{{.Time}}</td><td>{{.Until}}</td><td>{{.Strikes}}</td><td>{{.Reason}}</td></tr>{{end}}
</tbody></table>{{end}}
{{end}}{{template "foot" .}}{{end}}
`
