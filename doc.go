// Package vend holds the domain of a shop that sells digital downloads: the types
// every other package speaks (Product, Order, Item, Transaction, Grant, Session,
// Attempt, Notification, Event, Mail, User), the error codes and their one table
// of HTTP statuses (error.go), the Provider seam that each provider/* package
// implements and the intake runs (provider.go), and the pure rules that decide
// from stored history alone (standing.go: what an order's transactions mean for
// access). It imports nothing of vend's own; every other package points inward
// to it. docs/architecture.md draws the floors.
package vend
