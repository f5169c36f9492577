package tools

// Validity exposes the validity rule to the external tests.
var Validity = validity
