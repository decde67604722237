// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title SegmintToken
/// @notice The ERC-20 that workers stake. Dev and test deployments mint it freely through the owner;
/// production may point the StakingManager at any other ERC-20 instead.
/// @dev Burnable so that the burned share of a slash really leaves the supply.
contract SegmintToken is ERC20, ERC20Burnable, Ownable {
    /// @param initialOwner The account allowed to mint.
    constructor(address initialOwner) ERC20("Segmint", "SEG") Ownable(initialOwner) {}

    /// @notice Creates `amount` tokens for `to`. Only the owner (the deployer on dev chains).
    /// @param to Receiver of the new tokens.
    /// @param amount Amount in the token's smallest unit (18 decimals).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
