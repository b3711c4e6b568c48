package types

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendCanonicalVariant(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		dup      bool
		err      string
	}{
		{in: ` { "b" : [1, 2.50, -3e2], "a": {"y": null, "x": true} } `, want: `{"a":{"x":true,"y":null},"b":[1,2.50,-3e2]}`},
		{in: `"caf\u00e9 \"q\" \n <&>"`, want: `"café \"q\" \n <&>"`},
		{in: `{"a": 1, "a": 2}`, dup: true, want: `{"a":2}`},
		{in: `{"a": 1, "a": 2}`, err: "duplicate object key 'a'"},
		{in: `[1, 2`, err: "unexpected end of JSON input"},
		{in: `1 2`, err: "unexpected data after the JSON value"},
		{in: ``, err: "unexpected end of JSON input"},
	} {
		got, err := AppendCanonicalVariant([]byte("x"), []byte(tc.in), tc.dup)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			require.Equal(t, "x", string(got), "dst is returned unchanged on error")
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, "x"+tc.want, string(got))
		// Canonical text is a fixed point.
		again, err := AppendCanonicalVariant(nil, got[1:], false)
		require.NoError(t, err)
		require.Equal(t, tc.want, string(again))
	}
	_, err := AppendCanonicalVariant(nil, []byte(`{"k": {"z": 1, "z": 2}}`), false)
	require.True(t, errors.Is(err, ErrDuplicateKey))
}

func TestVariantType(t *testing.T) {
	require.Equal(t, "VARIANT NOT NULL", VariantType.WithNullable(false).String())
	require.Equal(t, "utf8", VariantType.Arrow().String())
	require.True(t, CanCast(VariantType, IntType))
	require.True(t, CanCast(VariantType, StringType))
	require.False(t, CanCast(VariantType, DateType))
	require.False(t, CanImplicitCast(VariantType, StringType))
}

// TestAppendJSONString escapes what JSON requires and replaces bytes that
// are not UTF-8, the same for a string and a byte slice.
func TestAppendJSONString(t *testing.T) {
	in := "a\"b\\c\n\r\t\x01é\xff€"
	want := `"a\"b\\c\n\r\t\u0001é\ufffd€"`
	require.Equal(t, want, string(AppendJSONString(nil, in)))
	require.Equal(t, want, string(AppendJSONString(nil, []byte(in))))
	require.Equal(t, `"\ufffd\ufffd"`, string(AppendJSONString(nil, "\xe2\x82")))
}
