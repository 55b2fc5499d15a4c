/** Claims AWS reads from a web identity token (kept apart from aws.ts so that reading them loads no SDK). */
export const STS_AUDIENCE = "sts.amazonaws.com";
/** IAM: session tags in an OIDC token go in this claim as {principal_tags: {k: [v]}, transitive_tag_keys: []}. */
export const AWS_TAGS_CLAIM = "https://aws.amazon.com/tags";
/** IAM: the source identity of an AssumeRoleWithWebIdentity session comes from this claim. */
export const AWS_SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity";
