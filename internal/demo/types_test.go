package demo

import (
	"testing"

	"github.com/elicense/elicense/internal/catalog"
)

// The starter catalogue names the licence types the demo registers in the library.
func TestStarterCatalogueUsesTheDemoTypes(t *testing.T) {
	for _, c := range []struct{ catalog, library string }{
		{catalog.TypeFoodBusiness, FoodTypeCode},
		{catalog.TypeConstructionQualification, ConstructionTypeCode},
		{catalog.TypePollutantDischarge, DischargeTypeCode},
	} {
		if c.catalog != c.library {
			t.Errorf("the starter catalogue names %s, the demo library registers %s", c.catalog, c.library)
		}
	}
}
