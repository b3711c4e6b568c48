// Package testdata holds Eddy's end-to-end tests: SQL scripts under
// testdata/ with their expected output, run through the same path as
// `eddy run`, and the example scripts the README shows.
package testdata
