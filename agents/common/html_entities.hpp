// HTML character references in text taken from HTML (mail bodies, feed items), decoded to UTF-8:
// &#NN; and &#xHH; (0, surrogates and values past U+10FFFF become U+FFFD), and the common named
// ones: &amp; &lt; &gt; &quot; &apos; &nbsp; &ndash; &mdash; &hellip; &lsquo; &rsquo; &ldquo;
// &rdquo; &euro; &pound; &copy; &reg; &middot; &bull; (in any letter case: &AMP;, &Nbsp;) and
// &eacute; &egrave; &uuml; &ouml; &auml; &szlig; (exactly so: the case is the letter's).
// A non-breaking space (&nbsp;, &#160;) becomes a plain space: the result is plain text.
// A reference needs its ';' within 10 bytes of the '&'; an unknown or malformed one is text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentd::agents {

// Decodes the reference at `text[at]` (an '&') onto `out`; returns the bytes it takes up, or 0
// (nothing appended) if there is none there and the '&' is just text.
size_t decode_html_entity(std::string_view text, size_t at, std::string& out);

// `text` with every reference decoded; unknown ones kept as written.
std::string decode_html_entities(std::string_view text);

}  // namespace agentd::agents
