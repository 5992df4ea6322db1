package app

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPI describes every /api/v1 route; a test compares its paths with the
// router's, so it cannot fall behind.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPI)
}
