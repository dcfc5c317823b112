package web

import (
	"net/http"
	"net/url"
)

// flashes are the messages an admin page shows after an action, by the key
// the action's redirect puts in ?done=. Only these texts are ever shown: the
// query picks one, it never supplies words of its own.
var flashes = map[string]string{
	"revoke":          "Access revoked: the buyer's links no longer work.",
	"restore":         "Access restored.",
	"reset":           "The download count is back to 0.",
	"extend":          "The expiry is changed.",
	"limit":           "The download limit is changed.",
	"links":           "The buyer's links are on their way by mail.",
	"buyer":           "The buyer is saved.",
	"refund":          "The order is marked refunded; its access has ended.",
	"delete":          "The order is deleted; its downloads have ended.",
	"order":           "The order is created.",
	"product":         "The product is saved.",
	"upload":          "The file is uploaded.",
	"file-retire":     "The file is retired: buyers no longer get it.",
	"file-restore":    "The file is current again.",
	"archive":         "The product is archived: new payments for it are refused; its buyers keep their downloads.",
	"unarchive":       "The product is on sale again.",
	"license-disable": "The key is disabled: the software no longer accepts it.",
	"license-enable":  "The key is enabled: it follows its purchase again.",
	"license-reset":   "Every activation of the key has ended.",
	"license-limit":   "The activation limit is changed.",
	"webhook-create":  "The endpoint is added. Give its signing secret to the receiver; events are sent from now on.",
	"webhook-update":  "The endpoint is saved.",
	"webhook-enable":  "The endpoint is on: its waiting events are sent, in order.",
	"webhook-disable": "The endpoint is off: its events wait until it is on again.",
	"webhook-rotate":  "The endpoint has a new secret. The old one signs too for 24 hours: switch the receiver within that time.",
	"webhook-delete":  "The endpoint is deleted, with its deliveries.",
	"webhook-replay":  "The event is queued again, as a new delivery.",
}

// redirectDone sends the browser on to path after an action, telling the
// next page which message to show (flashes).
func redirectDone(w http.ResponseWriter, r *http.Request, path, done string) {
	http.Redirect(w, r, path+"?"+url.Values{"done": {done}}.Encode(), http.StatusSeeOther)
}
