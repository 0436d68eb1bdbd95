/**
 * Recognises HDF5 files (Keras `.h5`) by their superblock signature.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

const HDF5_MAGIC = [0x89, ...ascii("HDF"), 0x0d, 0x0a, 0x1a, 0x0a];
export const detectHdf5: Detector = ({ head }) => {
  // The superblock sits at 0 or after a user block of 512, 1024, 2048 ... bytes.
  for (let at = 0; at + HDF5_MAGIC.length <= head.length; at = at === 0 ? 512 : at * 2) {
    if (startsWith(head, HDF5_MAGIC, at)) return { format: "hdf5", offset: at, reason: `HDF5 superblock at ${at}` };
  }
  return undefined;
};
