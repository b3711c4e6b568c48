package expr

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestVariantLiteral folds PARSE_JSON of a constant into a VARIANT literal
// that prints, serializes and deserializes as one.
func TestVariantLiteral(t *testing.T) {
	call, err := Resolve("PARSE_JSON", []Expr{&Literal{Value: `{"b": 1, "a": [true]}`, T: types.StringType.WithNullable(false)}})
	require.NoError(t, err)
	folded, err := Fold(call)
	require.NoError(t, err)
	lit, ok := folded.(*Literal)
	require.True(t, ok)
	require.Equal(t, types.Variant, lit.T.Kind)
	require.Equal(t, `PARSE_JSON('{"a":[true],"b":1}')`, lit.String())
	raw, err := Marshal(lit)
	require.NoError(t, err)
	back, err := Unmarshal(raw)
	require.NoError(t, err)
	require.Equal(t, lit, back)
}
