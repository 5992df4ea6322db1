package web

// Confirm is the "are you sure?" of a dangerous action (issue 20, point 8).
// Without JavaScript the action's button opens a page with it (GET) and
// only its form does the action (POST, with confirm=yes); with JavaScript the
// same question opens in a <dialog> on the page itself (static/confirm.js).
// Every text is already translated.
type Confirm struct {
	ID     string // the dialog's id, unique on the page
	Title  string
	Text   string
	Items  []string // what the action also changes (preferences that close)
	Action string   // where the form posts
	CSRF   string
	// Fields are hidden form fields besides csrf_token and confirm=yes.
	Fields [][2]string
	Submit string
	Danger bool // the submit button is red: removing, revoking
	// Cancel leads back without doing anything.
	Cancel, CancelLabel string
}
