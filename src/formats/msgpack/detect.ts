/**
 * Recognises msgpack model files: a map or array header under a `.msgpack` name, or, whatever the
 * name, a map whose first values include a Flax ndarray extension. msgpack has no magic, so the
 * name is what makes a bare map header enough.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";
import { isArrayHeader, isMapHeader, looksLikeFlaxMsgpack } from "./reader.js";

export const detectMsgpack: Detector = ({ head, name }) => {
  const first = head[0];
  if (first === undefined) return undefined;
  if (looksLikeFlaxMsgpack(head))
    return { format: "flax-msgpack", offset: 0, reason: "msgpack map with a Flax ndarray extension" };
  if (extensionOf(name) === "msgpack" && (isMapHeader(first) || isArrayHeader(first))) {
    return {
      format: "flax-msgpack",
      offset: 0,
      reason: `msgpack ${isMapHeader(first) ? "map" : "array"} header, .msgpack name`,
    };
  }
  return undefined;
};
