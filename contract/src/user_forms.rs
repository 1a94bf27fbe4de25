//! Plain-form doors (default URL encoding) to the user administration that `api::users`
//! exposes as JSON: the forms of the `/usuarios` page. They only adapt the inputs; the
//! service checks every permission. With JavaScript they answer the value; after a plain
//! post (no JavaScript) they keep the outcome as a one-shot flash (`api::flash`) and redirect
//! back to the page, so generated passwords, link codes and tokens never appear in a URL.

/// The page these forms belong to (and the key of their flash).
pub const USERS_PAGE: &str = "/usuarios";
