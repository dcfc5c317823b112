// Package vend holds the domain of a shop that sells digital downloads: the types
// every other package speaks (Product, Order, Item, Transaction, Grant, Session,
// Attempt, Notification, Event, Mail, User), the error codes (error.go) and the
// pure rules that decide from stored history alone (standing.go: what an order's
// transactions mean for access). It imports nothing of vend's own; the packages
// below it in the layout (provider/*, ledger, store, blob, delivery, mailer, web)
// point inward to it. README.md's Development section draws the map.
package vend
