package web

import (
	"html/template"
	"net/url"
)

// faviconSVG is every page's icon: the board's orange 112 badge, so a
// supervisor with many tabs finds siaga112's. It is written into the pages
// as a data URL, which needs no route, no file and no request.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">` +
	`<rect width="64" height="64" rx="12" fill="#d55e00"/>` +
	`<text x="32" y="42" font-family="sans-serif" font-size="26" font-weight="700" text-anchor="middle" fill="#fff">112</text></svg>`

// favicon is faviconSVG as a data URL for <link rel="icon">; typed as a
// URL the templates trust, since it is a constant of this file.
func favicon() template.URL {
	return template.URL("data:image/svg+xml," + url.PathEscape(faviconSVG)) // #nosec: a constant
}
