/**
 * Containers: zip, tar and compressed streams (readers and analyzers).
 * @module
 */

export { FindingList } from "../core/findings.js";
export { CLUSTER_BYTES, ClusterReader, type MemberSpan, SMALL_MEMBER, smallMemberClusters } from "./cluster.js";
export { compressedAnalyzer, decompressedName } from "./compressed/analyzer.js";
export { createBunzip2 } from "./compressed/bzip2.js";
export {
  type DecodedStream,
  DecodedWindowSource,
  type DecoderFactory,
  type DecodeStreamOptions,
  type DecodeTotals,
  type DecompressionBudget,
  decodeStream,
  forEachDecodedChunk,
  isBombError,
  RATIO_CHECK_THRESHOLD,
  type WindowOptions,
} from "./compressed/decoded-source.js";
export { createUnLzma, MAX_LZMA_DICTIONARY } from "./compressed/lzma.js";
export { type Decompressed, decompress, isDecodable, zstdAvailable } from "./compressed/streams.js";
export { tarAnalyzer } from "./tar/analyzer.js";
export { parseTarNumber, readTar, type TarEntry, type TarListing, type TarReadOptions } from "./tar/reader.js";
export { CRC_CHECK_LIMIT, zipAnalyzer } from "./zip/analyzer.js";
export { isTorchOpaqueMember } from "./zip/flavor.js";
export {
  checkEncryptionFlag,
  type EncryptionCheck,
  type EntryIntegrity,
  type OpenZipEntryOptions,
  openZipEntry,
  verifyZipEntry,
} from "./zip/member.js";
export {
  checkLocalHeaders,
  isTraversalName,
  type LocalHeaderCheck,
  type LocalOnlyEntry,
  type LocatedEntry,
  locateEntryData,
  readLocalOnlyEntry,
  readZipDirectory,
  type ZipDirectory,
  type ZipEntry,
  type ZipRange,
  type ZipReadOptions,
} from "./zip/reader.js";
