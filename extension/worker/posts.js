// Posts as the server takes them: the adapters say null for what a page does not show (a tweet with no
// permalink has no post_id); the server wants such a field left out, not null.

/** A shallow copy of the post without its null / undefined fields. */
export function cleanPost(post) {
  if (!post || typeof post !== "object") return post;
  return Object.fromEntries(Object.entries(post).filter(([, v]) => v !== null && v !== undefined));
}
